import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { mergeSwitch } from "../lib/switches";
import { phaseStatus, switchOutcome, timelineSteps } from "../lib/switchTimeline";
import { makeSwitch } from "../test/fixtures";
import { SwitchTimeline } from "./SwitchTimeline";

const NOW = new Date("2026-11-24T10:00:02.015Z");

describe("switch timeline", () => {
  it("marks ended phases done, the started one active and the rest waiting while in flight", () => {
    const steps = timelineSteps(makeSwitch(), NOW);
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ["requested", "done"],
      ["directive_written", "done"],
      ["released", "active"],
      ["claimed", "waiting"],
      ["completed", "waiting"],
    ]);
    expect(steps[0]!.durationMs).toBe(3);
    // The running phase shows its elapsed time so far.
    expect(steps[2]!.durationMs).toBe(2000);
  });

  it("shows each phase with its duration and the outcome once completed", () => {
    const done = makeSwitch({
      state: "completed",
      finished_at: "2026-11-24T10:00:01.500Z",
      phases: [
        { name: "requested", started_at: "2026-11-24T10:00:00.000Z", ended_at: "2026-11-24T10:00:00.003Z", duration_ms: 3 },
        { name: "directive_written", started_at: "2026-11-24T10:00:00.003Z", ended_at: "2026-11-24T10:00:00.015Z", duration_ms: 12 },
        { name: "released", started_at: "2026-11-24T10:00:00.015Z", ended_at: "2026-11-24T10:00:01.015Z", duration_ms: 1000 },
        { name: "claimed", started_at: "2026-11-24T10:00:01.015Z", ended_at: "2026-11-24T10:00:01.500Z", duration_ms: 485 },
        { name: "completed", started_at: "2026-11-24T10:00:01.500Z", ended_at: "2026-11-24T10:00:01.500Z", duration_ms: 0 },
      ],
    });
    render(<SwitchTimeline sw={done} />);
    const phases = screen.getAllByTestId("switch-phase");
    expect(phases.map((p) => p.dataset.status)).toEqual(["done", "done", "done", "done", "done"]);
    expect(phases[2]).toHaveTextContent("Old colour released");
    expect(phases[2]).toHaveTextContent("1.00 s");
    expect(phases[3]).toHaveTextContent("485 ms");
    expect(screen.getByTestId("switch-outcome")).toHaveTextContent("Switch from blue to green completed");
    expect(screen.getByTestId("switch-timeline")).toHaveTextContent("total 1.50 s");
  });

  it("reports a timed-out switch as an alert with its reason and the phases that never finished", () => {
    const timedOut = makeSwitch({ state: "timed_out", reason: "billing-blue-1 did not release payments/2 within 60 s", finished_at: "2026-11-24T10:01:00Z" });
    render(<SwitchTimeline sw={timedOut} />);
    const outcome = screen.getByRole("alert");
    expect(outcome).toHaveTextContent("Switch from blue to green timed out");
    expect(outcome).toHaveTextContent("billing-blue-1 did not release payments/2 within 60 s");
    expect(outcome).toHaveTextContent("roll back");
    const halted = screen.getAllByTestId("switch-phase").filter((p) => p.dataset.status === "halted");
    expect(halted.map((p) => p.dataset.phase)).toEqual(["released", "claimed"]);
    // The phase that was running when the switch gave up shows how long it ran.
    expect(halted[0]).toHaveTextContent("60.0 s");
  });

  it("counts a started terminal phase of a completed switch as done even without an end time", () => {
    expect(phaseStatus({ name: "completed", started_at: "x", ended_at: null, duration_ms: null }, "completed")).toBe("done");
    expect(phaseStatus({ name: "claimed", started_at: null, ended_at: null, duration_ms: null }, "failed")).toBe("halted");
  });

  it.each(["directive_written", "verifying"])("treats the non-terminal state %s as still in flight", (state) => {
    const steps = timelineSteps(makeSwitch({ state: state as never }), NOW);
    expect(steps.map((s) => s.status)).toEqual(["done", "done", "active", "waiting", "waiting"]);
    expect(switchOutcome(makeSwitch({ state: state as never })).tone).toBe("progress");
  });

  it("describes a failed rollback with its reason", () => {
    expect(switchOutcome(makeSwitch({ kind: "rollback", state: "failed", reason: "fenced" }))).toEqual({
      tone: "bad",
      title: "Rollback from blue to green failed",
      detail: "fenced",
    });
  });

  it("never lets an older update of a switch replace a newer one (events may overtake the POST answer)", () => {
    const releasing = makeSwitch();
    const pending = makeSwitch({ state: "pending", phases: [] });
    const other = makeSwitch({ id: "older", requested_at: "2026-11-23T00:00:00Z", state: "completed" });
    const known = mergeSwitch([other], releasing);
    const after = mergeSwitch(known, pending);
    expect(after.map((s) => [s.id, s.state])).toEqual([
      [releasing.id, "releasing"],
      ["older", "completed"],
    ]);
  });
});
