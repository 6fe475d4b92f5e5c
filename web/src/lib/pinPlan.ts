/** Reading a pin plan (POST …/pins/preview) and editing a draft of pins. */
import type { PinPlan } from "../api/types";

export interface PlanSummary {
  moveCount: number;
  unownedCount: number;
  /** Instances a move targets that are not registered now: the pin follows absent_pin_policy. */
  absentTargets: string[];
  empty: boolean;
}

export function summarisePlan(plan: PinPlan, registered: readonly string[]): PlanSummary {
  const known = new Set(registered);
  const absent = new Set<string>();
  for (const move of plan.moves) {
    if (move.to_instance && !known.has(move.to_instance)) absent.add(move.to_instance);
  }
  return {
    moveCount: plan.moves.length,
    unownedCount: plan.unowned.length,
    absentTargets: [...absent].sort(),
    empty: plan.moves.length === 0 && plan.unowned.length === 0,
  };
}

/** The draft with `partitions` pinned to `instance` (or unpinned when instance is null). */
export function withPins(
  draft: Readonly<Record<string, string>>,
  partitions: Iterable<string>,
  instance: string | null,
): Record<string, string> {
  const next = { ...draft };
  for (const key of partitions) {
    if (instance === null) delete next[key];
    else next[key] = instance;
  }
  return next;
}

export function samePins(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ak = Object.keys(a);
  if (ak.length !== Object.keys(b).length) return false;
  return ak.every((k) => a[k] === b[k]);
}
