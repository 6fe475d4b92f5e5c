import { screen, waitFor } from "@testing-library/react";
import { beforeEach, describe, expect, it } from "vitest";
import type { Role } from "../api/types";
import { DeploymentPage } from "../pages/DeploymentPage";
import { FakeEventSource, mockApi, streamTickets } from "../test/api";
import { makeDeployment, makeState } from "../test/fixtures";
import { renderSignedIn } from "../test/render";
import { describeScope, hasRole, manageTokens } from "./roles";
import { RequireRole } from "./RequireRole";

describe("hasRole", () => {
  it.each<[Role | string | null, Role, boolean]>([
    ["viewer", "viewer", true],
    ["viewer", "operator", false],
    ["viewer", "admin", false],
    ["operator", "viewer", true],
    ["operator", "operator", true],
    ["operator", "admin", false],
    ["admin", "operator", true],
    ["admin", "admin", true],
    ["superuser", "viewer", false],
    [null, "viewer", false],
  ])("%s may act as %s: %s", (role, needed, expected) => {
    expect(hasRole(role, needed)).toBe(expected);
  });
});

/** Every control that changes something, by its accessible name. */
const MUTATING = [/switch to/i, /roll back/i, /pause/i, /resume/i, /preview plan/i, /apply pins/i, /pin selected/i, /dry run/i, /execute reset/i];

function serve(role: Role) {
  return mockApi({
    "GET /whoami": { name: role === "viewer" ? "vera" : "olga", role },
    "GET /deployments/billing": makeDeployment(),
    "GET /deployments/billing/state": makeState(),
    "GET /deployments/billing/switches": { data: [], count: 0 },
    "GET /deployments/billing/lag": { points: [] },
    "POST /deployments/billing/stream-tickets": streamTickets(),
  });
}

describe("role gating on the deployment page", () => {
  beforeEach(() => FakeEventSource.install());

  it("shows a viewer no mutating control, and says why", async () => {
    serve("viewer");
    renderSignedIn(<DeploymentPage />, { path: "/deployments/billing", pattern: "/deployments/:name" });
    // Wait until both the role and the live state are known, so hidden means gated, not loading.
    await screen.findAllByTestId("partition-cell");
    await waitFor(() => expect(screen.getAllByTestId("read-only-note").length).toBeGreaterThan(0));
    for (const name of MUTATING) {
      expect(screen.queryByRole("button", { name })).toBeNull();
    }
    expect(screen.getAllByTestId("read-only-note")[0]).toHaveTextContent("need the operator role");
  });

  it("shows an operator the switch, pin, pause and offset controls", async () => {
    serve("operator");
    renderSignedIn(<DeploymentPage />, { path: "/deployments/billing", pattern: "/deployments/:name" });
    expect(await screen.findByRole("button", { name: "Switch to green…" })).toBeEnabled();
    expect(screen.getByRole("button", { name: "Roll back…" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Pause…" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Preview plan" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Dry run" })).toBeInTheDocument();
    expect(screen.queryByTestId("read-only-note")).toBeNull();
  });
});

describe("RequireRole", () => {

  it("renders the fallback, not the children, below the needed role", async () => {
    mockApi({ "GET /whoami": { name: "vera", role: "viewer" } });
    renderSignedIn(
      <RequireRole min="admin" fallback={<p>admins only</p>}>
        <button type="button">Delete</button>
      </RequireRole>,
    );
    expect(await screen.findByText("admins only")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Delete" })).toBeNull();
  });
});

describe("token management and scopes", () => {
  it("lets only unscoped admins manage tokens", () => {
    expect(manageTokens({ name: "root", role: "admin", scope: null })).toBe(true);
    expect(manageTokens({ name: "pay", role: "admin", scope: { teams: ["payments"], patterns: [] } })).toBe(false);
    expect(manageTokens({ name: "ops", role: "operator", scope: null })).toBe(false);
  });

  it("describes a scope by its teams and patterns", () => {
    expect(describeScope(null)).toBe("all deployments");
    expect(describeScope({ teams: ["payments"], patterns: ["ledger-*"] })).toBe("team payments, ledger-*");
  });
});
