import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { AuthProvider } from "../auth/AuthContext";

/** Renders `element` at `path` (matched by `pattern`) inside a signed-in session. */
export function renderSignedIn(element: ReactElement, { path = "/", pattern = "/" }: { path?: string; pattern?: string } = {}) {
  return render(
    <AuthProvider initialToken="test-token">
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route path={pattern} element={element} />
        </Routes>
      </MemoryRouter>
    </AuthProvider>,
  );
}
