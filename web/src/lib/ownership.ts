/**
 * Ownership map model: one cell per partition, grouped by binding and topic, in
 * partition order, with the owner's colour, instance and any manual pin.
 */
import type { Colour, PartitionState } from "../api/types";
import { partitionKey } from "../api/types";

export type OwnerColour = Colour | "unowned";

export interface OwnershipCell {
  key: string;
  binding: string;
  topic: string;
  partition: number;
  owner: OwnerColour;
  instance: string | null;
  lag: number | null;
  pinnedTo: string | null;
  /** Owned by another instance than its pin names: a move is pending or blocked. */
  pinMismatch: boolean;
}

export interface OwnershipGroup {
  binding: string;
  topic: string;
  cells: OwnershipCell[];
}

export interface OwnershipSummary {
  blue: number;
  green: number;
  unowned: number;
  total: number;
}

export function ownerColour(p: PartitionState): OwnerColour {
  if (!p.owner_instance) return "unowned";
  return p.owner_colour === "blue" || p.owner_colour === "green" ? p.owner_colour : "unowned";
}

export function buildOwnership(
  partitions: readonly PartitionState[],
  pins: Readonly<Record<string, string>> = {},
): OwnershipGroup[] {
  const groups = new Map<string, OwnershipGroup>();
  for (const p of partitions) {
    const id = `${p.binding}\u0000${p.topic}`;
    let group = groups.get(id);
    if (!group) {
      group = { binding: p.binding, topic: p.topic, cells: [] };
      groups.set(id, group);
    }
    const key = partitionKey(p.topic, p.partition);
    // Pins address the live binding only (docs/api.md "Manual assignment").
    const pinnedTo = p.binding === "live" ? (pins[key] ?? null) : null;
    const owner = ownerColour(p);
    group.cells.push({
      key,
      binding: p.binding,
      topic: p.topic,
      partition: p.partition,
      owner,
      instance: owner === "unowned" ? null : p.owner_instance,
      lag: p.lag,
      pinnedTo,
      pinMismatch: pinnedTo !== null && p.owner_instance !== pinnedTo,
    });
  }
  const bindingOrder = (b: string) => (b === "live" ? 0 : b === "preview" ? 1 : 2);
  const sorted = [...groups.values()].sort(
    (a, b) => bindingOrder(a.binding) - bindingOrder(b.binding) || a.topic.localeCompare(b.topic),
  );
  for (const group of sorted) group.cells.sort((a, b) => a.partition - b.partition);
  return sorted;
}

export function summariseOwnership(groups: readonly OwnershipGroup[]): OwnershipSummary {
  const summary: OwnershipSummary = { blue: 0, green: 0, unowned: 0, total: 0 };
  for (const group of groups) {
    for (const cell of group.cells) {
      summary[cell.owner] += 1;
      summary.total += 1;
    }
  }
  return summary;
}

export function describeCell(cell: OwnershipCell): string {
  const owner =
    cell.owner === "unowned" ? "unowned" : `owned by ${cell.instance ?? "?"} (${cell.owner})`;
  const lag = cell.lag === null ? "lag unknown" : `lag ${cell.lag}`;
  const pin = cell.pinnedTo ? `, pinned to ${cell.pinnedTo}${cell.pinMismatch ? " (not there yet)" : ""}` : "";
  return `${cell.binding} ${cell.key}: ${owner}, ${lag}${pin}`;
}
