/**
 * How a Switch reads as a timeline (docs/api.md "Switch and rollback").
 *
 * Switch states: pending → releasing → claiming → completed, or failed / timed_out.
 * Each phase is `done` (ended), `active` (started, not ended, switch in flight),
 * `waiting` (not started, switch in flight), or `halted` (started or not, but the
 * switch ended without it: it never finished).
 */
import type { Switch, SwitchPhase, SwitchState } from "../api/types";
import { PHASE_NAMES } from "../api/types";

export type PhaseStatus = "done" | "active" | "waiting" | "halted";

export interface TimelineStep {
  name: string;
  label: string;
  status: PhaseStatus;
  durationMs: number | null;
  startedAt: string | null;
}

const PHASE_LABELS: Record<string, string> = {
  requested: "Requested",
  directive_written: "Directive written",
  released: "Old colour released",
  claimed: "New colour claimed",
  completed: "Completed",
};

const TERMINAL: ReadonlySet<string> = new Set(["completed", "failed", "timed_out"]);

/** In flight until a terminal state: a state this build does not know is still running. */
export function isInFlight(state: SwitchState | string): boolean {
  return !TERMINAL.has(state);
}

export function phaseStatus(phase: SwitchPhase, state: SwitchState | string): PhaseStatus {
  if (phase.ended_at) return "done";
  if (!isInFlight(state)) {
    // A completed switch may leave the terminal "completed" phase without an end time.
    if (state === "completed" && phase.started_at) return "done";
    return "halted";
  }
  return phase.started_at ? "active" : "waiting";
}

/** Steps in the contract's phase order; phases the API adds later come after, in its order. */
export function timelineSteps(sw: Switch, now: Date = new Date()): TimelineStep[] {
  const phases = sw.phases ?? [];
  const byName = new Map(phases.map((p) => [p.name, p]));
  const names = [...PHASE_NAMES.filter((n) => byName.has(n)), ...phases.map((p) => p.name).filter((n) => !(PHASE_NAMES as readonly string[]).includes(n))];
  // The contract lists "completed" as a phase; show it even if the API omits it while in flight.
  if (!byName.has("completed") && sw.state !== "failed" && sw.state !== "timed_out") names.push("completed");
  return names.map((name) => {
    const phase: SwitchPhase = byName.get(name) ?? { name, started_at: null, ended_at: null, duration_ms: null };
    const status = phaseStatus(phase, sw.state);
    let durationMs = phase.duration_ms;
    if (durationMs === null && status === "active" && phase.started_at) {
      durationMs = Math.max(0, now.getTime() - new Date(phase.started_at).getTime());
    }
    // A phase cut short by the switch's end ran until then.
    if (durationMs === null && status === "halted" && phase.started_at && sw.finished_at) {
      durationMs = Math.max(0, new Date(sw.finished_at).getTime() - new Date(phase.started_at).getTime());
    }
    return { name, label: PHASE_LABELS[name] ?? name, status, durationMs, startedAt: phase.started_at };
  });
}

export function totalDurationMs(sw: Switch, now: Date = new Date()): number | null {
  const start = new Date(sw.requested_at).getTime();
  if (Number.isNaN(start)) return null;
  const end = sw.finished_at ? new Date(sw.finished_at).getTime() : now.getTime();
  return Math.max(0, end - start);
}

function sentence(text: string): string {
  const trimmed = text.trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

export interface Outcome {
  tone: "ok" | "bad" | "progress";
  title: string;
  detail: string;
}

export function switchOutcome(sw: Switch): Outcome {
  const what = `${sw.kind === "rollback" ? "Rollback" : "Switch"} from ${sw.from_colour} to ${sw.to_colour}`;
  switch (sw.state) {
    case "completed":
      return { tone: "ok", title: `${what} completed`, detail: `${sw.to_colour} owns the partitions at epoch ${sw.epoch}.` };
    case "timed_out":
      return {
        tone: "bad",
        title: `${what} timed out`,
        detail: `${sentence(sw.reason ?? "The barrier was not reached in time")} Check the instances below; roll back if ${sw.from_colour} should keep serving.`,
      };
    case "failed":
      return { tone: "bad", title: `${what} failed`, detail: sw.reason ?? "No reason was given." };
    default:
      return { tone: "progress", title: `${what} in progress`, detail: `State: ${sw.state}.` };
  }
}
