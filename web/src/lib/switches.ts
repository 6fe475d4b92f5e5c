/** Merging what we hear about switches (list, POST answer, events) without going backwards. */
import type { Switch } from "../api/types";

const STATE_RANK: Record<string, number> = {
  pending: 0,
  directive_written: 1,
  releasing: 2,
  claiming: 3,
  completed: 4,
  failed: 4,
  timed_out: 4,
};

function progress(sw: Switch): number {
  const ended = (sw.phases ?? []).filter((p) => p.ended_at).length;
  return (STATE_RANK[sw.state] ?? 0) * 100 + ended;
}

/** Adds `incoming` unless a version of the same switch that got further is already known. */
export function mergeSwitch(known: readonly Switch[], incoming: Switch): Switch[] {
  const existing = known.find((s) => s.id === incoming.id);
  if (existing && progress(existing) > progress(incoming)) return [...known];
  const rest = known.filter((s) => s.id !== incoming.id);
  return sortNewestFirst([...rest, incoming]);
}

export function sortNewestFirst(switches: readonly Switch[]): Switch[] {
  return [...switches].sort((a, b) => new Date(b.requested_at).getTime() - new Date(a.requested_at).getTime());
}
