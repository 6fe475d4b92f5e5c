import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { instance } from "../test/fixtures";
import { InstancesTable } from "./InstancesTable";

function row(name: string) {
  return screen.getAllByTestId("instance-row").find((r) => r.dataset.instance === name)!;
}

describe("InstancesTable", () => {
  it("marks an instance that has not applied the newest settings version, and a refusal", () => {
    render(
      <InstancesTable
        epoch={7}
        processingVersion={3}
        instances={[
          instance("blue-0", "blue", { processing_version: 3 }),
          instance("blue-1", "blue", { processing_version: 2, processing_current: false }),
          instance("green-0", "green", {
            processing_version: 2,
            processing_current: false,
            processing_refused: "ordering 'lifo' is not one of partition, key, unordered",
          }),
        ]}
      />,
    );
    expect(within(row("blue-0")).getByTestId("instance-settings")).toHaveTextContent(/^v3$/);
    expect(within(row("blue-1")).getByTestId("instance-settings")).toHaveTextContent("v2 behind (v3)");
    expect(within(row("green-0")).getByTestId("instance-refusal")).toHaveTextContent("refused v3: ordering 'lifo' is not one of");
  });

  it("shows readiness: ready, warming up with the reason, or not reported by an older agent", () => {
    render(
      <InstancesTable
        epoch={7}
        processingVersion={1}
        instances={[
          instance("blue-0", "blue"),
          instance("green-0", "green", { ready: false, readiness_note: "warming up (RUNNING)" }),
          instance("green-1", "green", { processing_version: null, processing_current: null, readiness_note: "does not report readiness (an older agent); counted as ready" }),
        ]}
      />,
    );
    expect(within(row("blue-0")).getByTestId("instance-ready")).toHaveTextContent("ready");
    expect(within(row("green-0")).getByTestId("instance-ready")).toHaveTextContent("not readywarming up (RUNNING)");
    expect(within(row("green-1")).getByTestId("instance-ready")).toHaveTextContent("not reported");
    expect(within(row("green-1")).getByTestId("instance-settings")).toHaveTextContent("not reported");
  });
});
