import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { mockApi, reply } from "../test/api";
import { instance, makeDeployment, makeProcessing, makeState } from "../test/fixtures";
import { renderSignedIn } from "../test/render";
import { ProcessingPanel } from "./ProcessingPanel";

const ADMIN = { "GET /whoami": { name: "ada", role: "admin" } };

function show(onSaved: (d: unknown) => void = () => {}, state = makeState()) {
  return renderSignedIn(<ProcessingPanel deployment={makeDeployment()} state={state} onSaved={onSaved} />);
}

describe("ProcessingPanel", () => {
  it("shows the settings in force and how many instances run them", async () => {
    mockApi({ "GET /whoami": { name: "vic", role: "viewer" } });
    show();
    expect(await screen.findByTestId("processing-version")).toHaveTextContent("version 2");
    expect(screen.getByTestId("processing-adoption")).toHaveTextContent("run by 3 of 3 instances");
    expect(screen.getByTestId("processing-settings")).toHaveTextContent("ordering partition · workers 8");
    expect(screen.queryByRole("button", { name: "Edit settings…" })).toBeNull();
    expect(screen.getByText("Changing them needs the admin role.")).toBeInTheDocument();
  });

  it("names an instance that refused the newest settings", async () => {
    mockApi({ "GET /whoami": { name: "vic", role: "viewer" } });
    const refused = instance("billing-green-0", "green", {
      processing_version: 1,
      processing_current: false,
      processing_refused: "ordering 'lifo' is not one of partition, key, unordered",
    });
    show(() => {}, makeState({ instances: [instance("billing-blue-0", "blue"), refused] }));
    expect(await screen.findByTestId("processing-adoption")).toHaveTextContent("run by 1 of 2 instances");
    expect(screen.getByTestId("processing-refused-summary")).toHaveTextContent("refused by billing-green-0");
  });

  it("previews every change old → new, then saves only the changed fields with If-Match", async () => {
    const saved = makeDeployment({ processing: makeProcessing({ version: 3, ordering: "key", workers: 32 }), version: 4 });
    const { calls } = mockApi({ ...ADMIN, "PATCH /deployments/billing": saved });
    const seen: unknown[] = [];
    show((d) => seen.push(d));
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Edit settings…" }));
    await user.selectOptions(screen.getByLabelText("Ordering"), "key");
    const workers = screen.getByLabelText("Workers");
    await user.clear(workers);
    await user.type(workers, "32");
    await user.click(screen.getByLabelText("Dead letters"));
    await user.click(screen.getByRole("button", { name: "Review 3 changes…" }));

    const preview = screen.getByTestId("processing-preview");
    const rows = within(preview).getAllByTestId("processing-change");
    expect(rows.map((r) => r.dataset.field)).toEqual(["ordering", "workers", "dead_letters.enabled"]);
    const oldToNew = rows.map((r) => within(r).getAllByRole("cell").map((c) => c.textContent));
    expect(oldToNew).toEqual([
      ["partition", "key"],
      ["8", "32"],
      ["off", "on"],
    ]);
    expect(preview).toHaveTextContent("Saving makes settings version 3");
    expect(calls.filter((c) => c.method === "PATCH")).toEqual([]); // nothing sent before saving

    await user.click(within(preview).getByRole("button", { name: "Save as version 3" }));
    await waitFor(() => expect(seen).toEqual([saved]));
    const patch = calls.find((c) => c.method === "PATCH");
    expect(patch?.body).toEqual({ processing: { ordering: "key", workers: 32, dead_letters: { enabled: true } } });
    expect(patch?.headers["If-Match"]).toBe('"3"');
    expect(screen.queryByTestId("processing-preview")).toBeNull();
  });

  it("refuses to review text that is not a value and says which field", async () => {
    mockApi(ADMIN);
    show();
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Edit settings…" }));
    const retries = screen.getByLabelText("Retries");
    await user.clear(retries);
    await user.type(retries, "many");
    expect(retries).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByRole("alert")).toHaveTextContent("must be a whole number");
    expect(screen.getByRole("button", { name: /Review/ })).toBeDisabled();
  });

  it("shows the control plane's refusal with the field and keeps the preview", async () => {
    mockApi({
      ...ADMIN,
      "PATCH /deployments/billing": reply(422, {
        detail: [{ loc: ["body", "processing", "workers"], msg: "Input should be less than or equal to 4096", type: "value_error" }],
      }),
    });
    show();
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Edit settings…" }));
    const workers = screen.getByLabelText("Workers");
    await user.clear(workers);
    await user.type(workers, "5000");
    await user.click(screen.getByRole("button", { name: "Review 1 change…" }));
    await user.click(screen.getByRole("button", { name: "Save as version 3" }));
    expect(await screen.findByTestId("processing-error")).toHaveTextContent("body.processing.workers: Input should be less than or equal to 4096");
    expect(screen.getByTestId("processing-preview")).toBeInTheDocument();
  });
});
