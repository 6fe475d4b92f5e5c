import { act, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";
import { type Call, FakeEventSource, mockApi, reply, streamTickets } from "../test/api";
import { RECONNECT_DELAY_MS } from "../hooks/useDeploymentEvents";
import { makeDeployment, makeState, makeSwitch, partition } from "../test/fixtures";
import { renderSignedIn } from "../test/render";
import { DeploymentPage } from "./DeploymentPage";

const OPERATOR = { "GET /whoami": { name: "olga", role: "operator" } };

function routes(over: Record<string, unknown> = {}) {
  return {
    ...OPERATOR,
    "GET /deployments/billing": makeDeployment(),
    "GET /deployments/billing/state": makeState(),
    "GET /deployments/billing/switches": { data: [], count: 0 },
    "GET /deployments/billing/lag": { points: [] },
    "POST /deployments/billing/stream-tickets": streamTickets(),
    ...over,
  };
}

function open() {
  return renderSignedIn(<DeploymentPage />, { path: "/deployments/billing", pattern: "/deployments/:name" });
}

/** Requests that change something: every call but reads and stream tickets. */
const changes = (calls: Call[]) => calls.filter((c) => c.method !== "GET" && !c.path.endsWith("/stream-tickets"));

const owners = () => screen.getAllByTestId("partition-cell").filter((c) => !c.closest("[data-testid=pin-editor]")).map((c) => c.dataset.ownerColour);

describe("DeploymentPage", () => {
  beforeEach(() => FakeEventSource.install());

  it("opens one event stream with a stream ticket, never the token, and redraws the map from its state events", async () => {
    const { calls } = mockApi(routes());
    open();
    await screen.findAllByTestId("ownership-map");
    expect(owners()).toEqual(["blue", "blue", "blue", "blue"]);
    const source = await waitFor(() => FakeEventSource.latest());
    expect(source.url).toBe("/api/v1/deployments/billing/events?ticket=tst_1");
    expect(source.url).not.toContain("test-token");
    const ticketRequest = calls.find((c) => c.path === "/deployments/billing/stream-tickets");
    expect(ticketRequest?.method).toBe("POST");
    expect(ticketRequest?.headers.Authorization).toBe("Bearer test-token");
    const green = makeState({
      active_colour: "green",
      epoch: 8,
      partitions: [0, 1, 2, 3].map((n) => partition(n, `billing-green-${n % 2}`, "green")),
    });
    act(() => source.emit("state", green));
    await waitFor(() => expect(owners()).toEqual(["green", "green", "green", "green"]));
    expect(screen.getByTestId("live-status")).toHaveAttribute("data-status", "open");
    expect(FakeEventSource.instances).toHaveLength(1); // no reconnect or polling
  });

  it("names the cluster and mirror of a colour that consumes a mirror's copies", async () => {
    const migrating = makeDeployment({
      colours: {
        blue: { version: "1.4.0", role: "live", cluster: "local", via_mirror: null },
        green: { version: "1.5.0", role: "standby", cluster: "dr", via_mirror: "orders-mirror" },
      },
    });
    mockApi(routes({ "GET /deployments/billing": migrating }));
    open();
    expect(await screen.findByTestId("colour-facts")).toHaveTextContent(
      "blue 1.4.0 (live), green 1.5.0 (standby) on dr via mirror orders-mirror",
    );
  });

  it("re-reads the deployment once when a state event shows a newer epoch, not in a loop", async () => {
    const { calls } = mockApi(routes());
    open();
    const source = await waitFor(() => FakeEventSource.latest());
    act(() => source.emit("state", makeState({ epoch: 9 })));
    const reads = () => calls.filter((c) => c.method === "GET" && c.path === "/deployments/billing").length;
    await waitFor(() => expect(reads()).toBe(2));
    act(() => source.emit("state", makeState({ epoch: 9, lag_total: 11 })));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(reads()).toBe(2); // the mock still says epoch 7, yet no third read
    act(() => source.emit("state", makeState({ epoch: 10 })));
    await waitFor(() => expect(reads()).toBe(3));
  });

  it("switches after a confirmation that states what will happen, then follows the switch live", async () => {
    const { calls } = mockApi(routes({ "POST /deployments/billing/switch": reply(202, makeSwitch({ state: "pending" })) }));
    open();
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Switch to green…" }));
    const dialog = screen.getByRole("dialog", { name: "Switch billing to green?" });
    const explanation = within(dialog).getByTestId("switch-explanation");
    expect(explanation).toHaveTextContent("epoch 7 → 8");
    expect(explanation).toHaveTextContent("The 2 blue instances commit, drain in-flight work (up to 10.0 s) and release 4 partitions");
    expect(explanation).toHaveTextContent("The 1 green instance claim them");
    expect(within(dialog).getByRole("button", { name: "Cancel" })).toHaveFocus();
    await user.click(within(dialog).getByRole("button", { name: "Switch to green" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    const post = changes(calls).find((c) => c.method === "POST");
    expect(post?.path).toBe("/deployments/billing/switch");
    expect(post?.body).toEqual({ to: "green", timeout_s: 60, force: false, wait_ready_ms: 30000 });
    expect(post?.headers["Idempotency-Key"]).toMatch(/.+/);
    expect(screen.getByTestId("switch-timeline")).toHaveAttribute("data-state", "pending");

    const source = await waitFor(() => FakeEventSource.latest());
    act(() =>
      source.emit(
        "switch",
        makeSwitch({ state: "completed", finished_at: "2026-11-24T10:00:01Z", phases: makeSwitch().phases.map((p) => ({ ...p, started_at: p.started_at ?? "2026-11-24T10:00:00Z", ended_at: "2026-11-24T10:00:01Z", duration_ms: p.duration_ms ?? 985 })) }),
      ),
    );
    await waitFor(() => expect(screen.getByTestId("switch-timeline")).toHaveAttribute("data-state", "completed"));
    expect(screen.getByTestId("switch-outcome")).toHaveTextContent("completed");
  });

  it("warns in the confirmation when the target colour has no instance", async () => {
    mockApi(routes({ "GET /deployments/billing/state": makeState({ instances: makeState().instances.filter((i) => i.colour === "blue") }) }));
    open();
    await userEvent.click(await screen.findByRole("button", { name: "Switch to green…" }));
    expect(within(screen.getByRole("dialog")).getByRole("note")).toHaveTextContent("No green instance is registered");
  });

  it("shows that the target colour is not ready, and a forced switch sends force", async () => {
    const refusal = "1 of 1 green instances are not ready: billing-green-0 (warming up (RUNNING))";
    const cold = makeState({ readiness: { blue: { ready: true, instances: 2, ready_instances: 2, refusal: null }, green: { ready: false, instances: 1, ready_instances: 0, refusal } } });
    const { calls } = mockApi(routes({ "GET /deployments/billing/state": cold, "POST /deployments/billing/switch": reply(202, makeSwitch({ state: "pending" })) }));
    open();
    const user = userEvent.setup();
    expect(await screen.findByTestId("switch-readiness")).toHaveTextContent(`green is not ready: ${refusal}`);
    await user.click(screen.getByRole("button", { name: "Switch to green…" }));
    const dialog = screen.getByRole("dialog");
    expect(within(dialog).getByTestId("switch-readiness")).toHaveAttribute("data-ready", "false");
    await user.click(within(dialog).getByLabelText(/Switch even if it is not ready/));
    expect(within(dialog).getByLabelText("Wait for readiness up to (seconds)")).toBeDisabled();
    await user.click(within(dialog).getByRole("button", { name: "Switch to green" }));
    await waitFor(() => expect(changes(calls).find((c) => c.method === "POST")?.body).toEqual({ to: "green", timeout_s: 60, force: true, wait_ready_ms: 0 }));
  });

  it("shows the readiness refusal the API answers with", async () => {
    const detail = "green is not ready to take over after waiting 30 s: 1 of 1 green instances are not ready: billing-green-0 (warming up (RUNNING)). Pass wait_ready_ms to wait for it, or force to switch anyway.";
    mockApi(routes({ "POST /deployments/billing/switch": reply(409, { detail }) }));
    open();
    await userEvent.click(await screen.findByRole("button", { name: "Switch to green…" }));
    await userEvent.click(screen.getByRole("button", { name: "Switch to green" }));
    expect(await within(screen.getByRole("dialog")).findByRole("alert")).toHaveTextContent("billing-green-0 (warming up (RUNNING))");
  });

  it("cancels the confirmation with Escape and sends nothing", async () => {
    const { calls } = mockApi(routes());
    open();
    await userEvent.click(await screen.findByRole("button", { name: "Switch to green…" }));
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(changes(calls)).toEqual([]);
  });

  it("shows the API's reason when a switch is refused", async () => {
    mockApi(routes({ "POST /deployments/billing/switch": reply(409, { detail: "a switch of billing is in flight" }) }));
    open();
    await userEvent.click(await screen.findByRole("button", { name: "Switch to green…" }));
    await userEvent.click(screen.getByRole("button", { name: "Switch to green" }));
    expect(await within(screen.getByRole("dialog")).findByRole("alert")).toHaveTextContent("Conflict: a switch of billing is in flight");
  });

  it("disables switching while a switch is in flight and says why", async () => {
    mockApi(routes({ "GET /deployments/billing/switches": { data: [makeSwitch()], count: 1 } }));
    open();
    const button = await screen.findByRole("button", { name: "Switch to green…" });
    await waitFor(() => expect(button).toBeDisabled());
    expect(screen.getByText("A switch is in flight; wait for its outcome.")).toBeInTheDocument();
  });

  it("explains ZooKeeper being unreachable instead of showing an empty map", async () => {
    mockApi(routes({ "GET /deployments/billing/state": makeState({ zookeeper: "unreachable: connection refused", instances: [], partitions: [] }) }));
    open();
    expect(await screen.findByText("ZooKeeper is unreachable from the control plane.")).toBeInTheDocument();
    expect(screen.getByText(/connection refused/)).toBeInTheDocument();
    expect(screen.getByText("Ownership cannot be read while ZooKeeper is unreachable.")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Switch to green…" })).toBeDisabled();
  });

  it("says that no instance is registered when there is none", async () => {
    mockApi(routes({ "GET /deployments/billing/state": makeState({ instances: [], partitions: [0, 1].map((n) => partition(n, null, null, 7)), lag_status: "STOP" }) }));
    open();
    expect(await screen.findByText("No instances are registered for this deployment.")).toBeInTheDocument();
    await waitFor(() => expect(owners()).toEqual(["unowned", "unowned"]));
  });

  it("names a 403 as missing rights and a 404 as an unknown deployment", async () => {
    mockApi({ ...OPERATOR, "GET /deployments/billing": reply(403, { detail: "role viewer cannot read cluster prod" }) });
    const first = open();
    expect(await screen.findByRole("alert")).toHaveTextContent("Your token does not have the rights for this (role viewer cannot read cluster prod)");
    first.unmount();
    mockApi({ ...OPERATOR, "GET /deployments/billing": reply(404, { detail: "no deployment billing" }) });
    open();
    expect(await screen.findByText("There is no deployment named “billing”.")).toBeInTheDocument();
  });

  it("reconnects a dropped stream itself, with a fresh ticket, and closes the spent one", async () => {
    mockApi(routes());
    open();
    const first = await waitFor(() => FakeEventSource.latest());
    act(() => first.emit("state", makeState()));
    act(() => first.fail(false));
    expect(first.closed).toBe(true); // EventSource must not retry with the spent ticket
    expect(screen.getByTestId("live-status")).toHaveAttribute("data-status", "reconnecting");
    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(2), { timeout: RECONNECT_DELAY_MS * 3 });
    const second = FakeEventSource.latest();
    expect(second.url).toBe("/api/v1/deployments/billing/events?ticket=tst_2");
    act(() => second.emit("state", makeState({ epoch: 7 })));
    await waitFor(() => expect(screen.getByTestId("live-status")).toHaveAttribute("data-status", "open"));
  });

  it("stops and says so when the control plane refuses a stream ticket", async () => {
    mockApi(routes({ "POST /deployments/billing/stream-tickets": reply(401, { detail: "invalid or revoked token" }) }));
    open();
    expect(await screen.findByText("Live updates stopped.")).toBeInTheDocument();
    expect(FakeEventSource.instances).toHaveLength(0);
  });

  it("tells the user when the event stream is closed and reconnects only on request", async () => {
    mockApi(routes());
    open();
    const source = await waitFor(() => FakeEventSource.latest());
    act(() => source.fail(true));
    expect(await screen.findByText("Live updates stopped.")).toBeInTheDocument();
    expect(FakeEventSource.instances).toHaveLength(1);
    await userEvent.click(screen.getByRole("button", { name: "Retry" }));
    await waitFor(() => expect(FakeEventSource.instances).toHaveLength(2));
    expect(FakeEventSource.instances[0]!.closed).toBe(true);
    expect(FakeEventSource.latest().url).toBe("/api/v1/deployments/billing/events?ticket=tst_2");
  });

  it("pins chosen partitions: preview first, apply only that plan", async () => {
    const plan = { moves: [{ partition: "payments/3", from_instance: "billing-blue-1", to_instance: "billing-green-0" }], unowned: [] };
    const { calls } = mockApi(
      routes({
        "POST /deployments/billing/pins/preview": plan,
        "PUT /deployments/billing/pins": makeDeployment({ pins: { "payments/3": "billing-green-0" }, epoch: 8, version: 4 }),
      }),
    );
    open();
    const user = userEvent.setup();
    const editor = await screen.findByTestId("pin-editor");
    const apply = within(editor).getByRole("button", { name: "Apply pins…" });
    expect(apply).toBeDisabled();
    await user.click(within(editor).getByRole("button", { name: /live payments\/3:/ }));
    await user.selectOptions(within(editor).getByLabelText("Pin to instance"), "billing-green-0");
    await user.click(within(editor).getByRole("button", { name: "Pin selected" }));
    expect(within(editor).getByTestId("draft-pins")).toHaveTextContent("payments/3 → billing-green-0");
    expect(apply).toBeDisabled(); // not previewed yet
    await user.click(within(editor).getByRole("button", { name: "Preview plan" }));
    expect(await within(editor).findByTestId("plan-preview")).toHaveTextContent("1 partition moves");
    expect(apply).toBeEnabled();
    await user.click(apply);
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Apply pins" }));
    await waitFor(() => expect(screen.getByTestId("pins-in-force")).toHaveTextContent("payments/3 → billing-green-0"));
    const body = { pins: { "payments/3": "billing-green-0" }, absent_pin_policy: "leave_unowned" };
    expect(changes(calls).find((c) => c.method === "POST")?.body).toEqual(body);
    expect(calls.find((c) => c.method === "PUT")?.body).toEqual(body);
  });

  it("withdraws a preview as soon as the draft changes", async () => {
    mockApi(routes({ "POST /deployments/billing/pins/preview": { moves: [], unowned: [] } }));
    open();
    const user = userEvent.setup();
    const editor = await screen.findByTestId("pin-editor");
    await user.click(within(editor).getByRole("button", { name: /live payments\/0:/ }));
    await user.click(within(editor).getByRole("button", { name: "Pin selected" }));
    await user.click(within(editor).getByRole("button", { name: "Preview plan" }));
    await within(editor).findByTestId("plan-preview");
    await user.selectOptions(within(editor).getByLabelText("If the pinned instance is not registered"), "fallback");
    expect(within(editor).queryByTestId("plan-preview")).toBeNull();
    expect(within(editor).getByRole("button", { name: "Apply pins…" })).toBeDisabled();
  });

  it("shows the offset reset dry-run plan before it can be executed", async () => {
    const { calls } = mockApi(
      routes({
        "POST /deployments/billing/offsets/reset": (call: { body: { dry_run: boolean } }) => ({
          body: { executed: !call.body.dry_run, partitions: [{ partition: "payments/0", current: 100, target: 0 }] },
        }),
      }),
    );
    open();
    const user = userEvent.setup();
    const panel = await screen.findByTestId("offset-reset");
    await user.selectOptions(within(panel).getByLabelText("Reset to"), "earliest");
    expect(within(panel).getByRole("button", { name: "Execute reset…" })).toBeDisabled();
    await user.click(within(panel).getByRole("button", { name: "Dry run" }));
    const plan = await within(panel).findByTestId("reset-plan");
    expect(plan).toHaveTextContent("Dry-run plan (nothing changed yet)");
    expect(plan).toHaveTextContent("re-reads 100");
    await user.click(within(panel).getByRole("button", { name: "Execute reset…" }));
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Execute reset" }));
    expect(await within(panel).findByText("Executed: committed offsets are now")).toBeInTheDocument();
    expect(changes(calls).filter((c) => c.method === "POST").map((c) => c.body)).toEqual([
      { binding: "live", to: "earliest", dry_run: true },
      { binding: "live", to: "earliest", dry_run: false },
    ]);
  });
});
