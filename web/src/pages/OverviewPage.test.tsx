import { act, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { mockApi, reply } from "../test/api";
import { makeDeployment, makeState, makeSwitch } from "../test/fixtures";
import { renderSignedIn } from "../test/render";
import { AUTO_REFRESH_MS, OverviewPage } from "./OverviewPage";

describe("OverviewPage", () => {

  it("shows each deployment's live colour, versions, instances per colour, lag status and last switch", async () => {
    mockApi({
      "GET /whoami": { name: "vera", role: "viewer" },
      "GET /deployments": {
        data: [
          makeDeployment({ last_switch: makeSwitch({ state: "timed_out" }) }),
          makeDeployment({ name: "audit", active_colour: "green" }),
        ],
        count: 2,
      },
      "GET /deployments/billing/state": makeState({ lag_total: 1234, lag_status: "WARN" }),
      "GET /deployments/audit/state": reply(503, { detail: "zookeeper: connection loss" }),
    });
    renderSignedIn(<OverviewPage />);
    const rows = await screen.findAllByTestId("deployment-row");
    const billing = rows[0]!;
    expect(billing).toHaveTextContent("1.4.0 · 2 instances");
    expect(billing).toHaveTextContent("1.5.0 · 1 instance");
    expect(billing).toHaveTextContent("1,234");
    expect(within(billing).getByTestId("lag-status")).toHaveAttribute("data-status", "WARN");
    expect(billing).toHaveTextContent("blue → green: timed out");
    const audit = rows[1]!;
    expect(audit).toHaveTextContent("ZooKeeper is unreachable: zookeeper: connection loss");
    expect(audit).toHaveTextContent("never");
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it("re-reads every deployment's state on its own while the tab is visible", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let lag = 10;
    const { calls } = mockApi({
      "GET /whoami": { name: "vera", role: "viewer" },
      "GET /deployments": { data: [makeDeployment()], count: 1 },
      "GET /deployments/billing/state": () => ({ body: makeState({ lag_total: lag }) }),
    });
    renderSignedIn(<OverviewPage />);
    const row = await screen.findByTestId("deployment-row");
    expect(row).toHaveTextContent("10");
    lag = 4321;
    await act(async () => {
      await vi.advanceTimersByTimeAsync(AUTO_REFRESH_MS);
    });
    expect(await screen.findByText("4,321")).toBeInTheDocument();
    const reads = () => calls.filter((c) => c.path === "/deployments/billing/state").length;
    expect(reads()).toBe(2);
    // A hidden tab is not polled.
    vi.spyOn(document, "visibilityState", "get").mockReturnValue("hidden");
    await act(async () => {
      await vi.advanceTimersByTimeAsync(3 * AUTO_REFRESH_MS);
    });
    expect(reads()).toBe(2);
  });
});
