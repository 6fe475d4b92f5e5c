import { screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { mockApi } from "../test/api";
import { renderSignedIn } from "../test/render";
import { TokensPage } from "./TokensPage";

describe("TokensPage", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("shows each token's role, scope, expiry and last use", async () => {
    mockApi({
      "GET /whoami": { name: "root", role: "admin", scope: null },
      "GET /tokens": {
        data: [
          {
            name: "legacy",
            role: "admin",
            created_at: "2026-11-01T10:00:00Z",
            expires_at: null,
            last_used_at: null,
            previous_valid_until: null,
            scope: null,
          },
          {
            name: "pay-ci",
            role: "operator",
            created_at: "2026-11-01T10:00:00Z",
            expires_at: "2027-02-01T10:00:00Z",
            last_used_at: "2026-12-06T10:00:00Z",
            previous_valid_until: "2026-12-07T10:00:00Z",
            scope: { teams: ["payments"], patterns: ["ledger-*"] },
          },
        ],
        count: 2,
      },
    });
    renderSignedIn(<TokensPage />);
    const rows = await screen.findAllByTestId("token-row");
    expect(rows[0]).toHaveTextContent("all deployments");
    expect(within(rows[0]!).getByTestId("token-expires")).toHaveTextContent("never");
    expect(within(rows[0]!).getByTestId("token-last-used")).toHaveTextContent("never");
    expect(rows[1]).toHaveTextContent("team payments, ledger-*");
    expect(within(rows[1]!).getByTestId("token-expires")).not.toHaveTextContent("never");
    expect(within(rows[1]!).getByTestId("token-last-used")).not.toHaveTextContent("never");
  });

  it("tells a scoped admin that tokens need an unscoped one, without asking the API", async () => {
    const { calls } = mockApi({ "GET /whoami": { name: "pay-admin", role: "admin", scope: { teams: ["payments"], patterns: [] } } });
    renderSignedIn(<TokensPage />);
    expect(await screen.findByText("Tokens are managed with an unscoped admin token.")).toBeInTheDocument();
    expect(calls.map((c) => c.path)).not.toContain("/tokens?limit=500");
  });
});
