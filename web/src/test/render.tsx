import { render } from "@testing-library/react";
import type { ReactElement, ReactNode } from "react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { AuthProvider, useAuth } from "../auth/AuthContext";

/** Like the app's gate: pages render only once /whoami has answered. */
function SignedIn({ children }: { children: ReactNode }) {
  const { status, notice } = useAuth();
  if (status === "signed_in") return <>{children}</>;
  return <p>{status === "checking" ? "checking session" : `signed out: ${notice ?? ""}`}</p>;
}

/** Renders `element` at `path` (matched by `pattern`) inside a signed-in session. */
export function renderSignedIn(element: ReactElement, { path = "/", pattern = "/" }: { path?: string; pattern?: string } = {}) {
  return render(
    <AuthProvider initialToken="test-token">
      <MemoryRouter initialEntries={[path]}>
        <SignedIn>
          <Routes>
            <Route path={pattern} element={element} />
          </Routes>
        </SignedIn>
      </MemoryRouter>
    </AuthProvider>,
  );
}
