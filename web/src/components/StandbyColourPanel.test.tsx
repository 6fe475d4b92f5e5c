import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { Deployment } from "../api/types";
import { mockApi, reply } from "../test/api";
import { makeDeployment, makeMirror } from "../test/fixtures";
import { renderSignedIn } from "../test/render";
import { StandbyColourPanel } from "./StandbyColourPanel";

const ADMIN = { "GET /whoami": { name: "ada", role: "admin" } };
const MIRROR = makeMirror("payments-mirror", "payments");
const ELSEWHERE = makeMirror("other-mirror", "payments", { cluster: "dr" });
const LIST = { data: [MIRROR, ELSEWHERE, makeDeployment({ name: "plain" })], count: 3 };

function show(deployment: Deployment = makeDeployment(), onSaved: (d: Deployment) => void = () => {}) {
  return renderSignedIn(<StandbyColourPanel deployment={deployment} onSaved={onSaved} />);
}

describe("StandbyColourPanel", () => {
  it("tells a viewer that changing a colour needs the admin role", async () => {
    mockApi({ "GET /whoami": { name: "vic", role: "viewer" }, "GET /deployments": LIST });
    show();
    expect(await screen.findByText("Changing a colour needs the admin role.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Change/ })).toBeNull();
  });

  it("offers the mirrors copying from the deployment's cluster, says what a change does, then PATCHes it with If-Match", async () => {
    const saved = makeDeployment({
      version: 4,
      colours: {
        blue: { version: "1.4.0", role: "live" },
        green: { version: "2.0.0", role: "standby", cluster: "dr", via_mirror: "payments-mirror" },
      },
    });
    const { calls } = mockApi({ ...ADMIN, "GET /deployments": LIST, "PATCH /deployments/billing": saved });
    const seen: Deployment[] = [];
    show(makeDeployment(), (d) => seen.push(d));
    const user = userEvent.setup();
    const select = await screen.findByLabelText("green consumes the copies of");
    await waitFor(() =>
      expect(within(select).getAllByRole("option").map((o) => o.textContent)).toEqual(["no mirror: local", "mirror payments-mirror → dr"]),
    );
    const change = screen.getByRole("button", { name: "Change green…" });
    expect(change).toBeDisabled(); // nothing changed yet
    await user.selectOptions(select, "payments-mirror");
    const version = screen.getByLabelText("green version");
    await user.clear(version);
    await user.type(version, "2.0.0");
    await user.click(change);

    const dialog = screen.getByRole("dialog");
    expect(within(dialog).getByTestId("standby-change")).toHaveTextContent(
      "version 1.5.0 → 2.0.0runs on dr and consumes the copies made by payments-mirror (now: local)",
    );
    expect(dialog).toHaveTextContent("epoch 7 → 8");
    expect(dialog).toHaveTextContent("start them on dr (turnout mirror consume)");
    expect(calls.filter((c) => c.method === "PATCH")).toEqual([]);

    await user.click(within(dialog).getByRole("button", { name: "Change green" }));
    await waitFor(() => expect(seen).toEqual([saved]));
    const patch = calls.find((c) => c.method === "PATCH");
    expect(patch?.body).toEqual({ colours: { green: { version: "2.0.0", via_mirror: "payments-mirror" } } });
    expect(patch?.headers["If-Match"]).toBe('"3"');
  });

  it("sends null to bring a colour back to the deployment's cluster", async () => {
    const crossing = makeDeployment({
      colours: {
        blue: { version: "1.4.0", role: "live" },
        green: { version: "1.5.0", role: "standby", cluster: "dr", via_mirror: "payments-mirror" },
      },
    });
    const { calls } = mockApi({ ...ADMIN, "GET /deployments": LIST, "PATCH /deployments/billing": makeDeployment({ version: 4 }) });
    show(crossing);
    const user = userEvent.setup();
    const select = await screen.findByLabelText("green consumes the copies of");
    expect(select).toHaveValue("payments-mirror");
    await user.selectOptions(select, "");
    await user.click(screen.getByRole("button", { name: "Change green…" }));
    expect(within(screen.getByRole("dialog")).getByTestId("standby-change")).toHaveTextContent(
      "runs on local, consuming the topics themselves (now: dr via mirror payments-mirror)",
    );
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Change green" }));
    await waitFor(() => expect(calls.some((c) => c.method === "PATCH")).toBe(true));
    expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({ colours: { green: { via_mirror: null } } });
  });

  it("edits the standby colour, whichever it is, and shows the control plane's refusal", async () => {
    mockApi({
      ...ADMIN,
      "GET /deployments": LIST,
      "PATCH /deployments/billing": reply(422, {
        detail: [{ loc: ["body", "colours", "blue", "via_mirror"], msg: "mirror 'payments-mirror' does not copy refunds", type: "value_error" }],
      }),
    });
    const greenLive = makeDeployment({
      active_colour: "green",
      colours: { blue: { version: "1.4.0", role: "standby" }, green: { version: "1.5.0", role: "live" } },
    });
    show(greenLive);
    const user = userEvent.setup();
    const select = await screen.findByLabelText("blue consumes the copies of");
    await waitFor(() => expect(within(select).getAllByRole("option")).toHaveLength(2));
    await user.selectOptions(select, "payments-mirror");
    await user.click(screen.getByRole("button", { name: "Change blue…" }));
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Change blue" }));
    expect(await within(screen.getByRole("dialog")).findByRole("alert")).toHaveTextContent("does not copy refunds");
  });

  it("offers no mirror to a mirror deployment or one with a preview binding", async () => {
    mockApi({ ...ADMIN, "GET /deployments": LIST });
    show(makeDeployment({ preview: { group: "billing-preview", topics: ["payments"] } }));
    expect(await screen.findByLabelText("green version")).toBeInTheDocument();
    expect(screen.queryByLabelText("green consumes the copies of")).toBeNull();
  });
});
