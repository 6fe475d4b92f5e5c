/**
 * Partition ownership map: one cell per partition, coloured by the owning colour and
 * labelled with the partition, the instance and the colour in words, so colour is never
 * the only signal. With `onToggle`, cells become toggle buttons for choosing partitions.
 */
import type { PartitionState } from "../api/types";
import { buildOwnership, describeCell, summariseOwnership, type OwnershipCell } from "../lib/ownership";
import { EmptyState } from "./States";

export interface OwnershipMapProps {
  partitions: readonly PartitionState[];
  pins?: Readonly<Record<string, string>>;
  selected?: ReadonlySet<string>;
  onToggle?: (key: string) => void;
}

export function OwnershipMap({ partitions, pins = {}, selected, onToggle }: OwnershipMapProps) {
  const groups = buildOwnership(partitions, pins);
  if (groups.length === 0) {
    return (
      <EmptyState title="No partitions to show.">
        The control plane reports no partitions for this deployment's topics yet.
      </EmptyState>
    );
  }
  const summary = summariseOwnership(groups);
  // As a picker (next to the main map) the summary and legend would only repeat it.
  const picker = onToggle !== undefined;
  return (
    <div className="ownership" data-testid="ownership-map">
      {picker ? null : (
        <>
      <p className="ownership-summary" aria-live="polite" data-testid="ownership-summary">
        {summary.total} partitions: <strong>{summary.blue}</strong> blue, <strong>{summary.green}</strong> green,{" "}
        <strong>{summary.unowned}</strong> unowned
      </p>
      <ul className="legend" aria-label="Legend">
        <li>
          <span className="cell-swatch cell-blue" aria-hidden="true" /> blue
        </li>
        <li>
          <span className="cell-swatch cell-green" aria-hidden="true" /> green
        </li>
        <li>
          <span className="cell-swatch cell-unowned" aria-hidden="true" /> unowned (hatched)
        </li>
        <li>
          <span className="pin-mark" aria-hidden="true">PIN</span> pinned by hand
        </li>
      </ul>
        </>
      )}
      {groups.map((group) => (
        <section key={`${group.binding}/${group.topic}`} className="ownership-group">
          <h4>
            {group.topic} <span className="muted">({group.binding} binding)</span>
          </h4>
          <ul className="cells" aria-label={`Partitions of ${group.topic} (${group.binding})`}>
            {group.cells.map((cell) => (
              <li key={cell.key}>
                <Cell cell={cell} selected={selected?.has(cell.key) ?? false} onToggle={onToggle} />
              </li>
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}

function Cell({
  cell,
  selected,
  onToggle,
}: {
  cell: OwnershipCell;
  selected: boolean;
  onToggle: ((key: string) => void) | undefined;
}) {
  const body = (
    <>
      <span className="cell-partition">
        {cell.partition}
        {cell.pinnedTo ? (
          <span className="pin-mark" title={`pinned to ${cell.pinnedTo}`}>
            PIN
          </span>
        ) : null}
      </span>
      <span className="cell-instance">{cell.instance ?? "no owner"}</span>
      <span className="cell-colour">{cell.owner}</span>
      <span className="cell-lag">lag {cell.lag ?? "?"}</span>
    </>
  );
  const common = {
    className: `cell cell-${cell.owner}${selected ? " cell-selected" : ""}${cell.pinMismatch ? " cell-moving" : ""}`,
    "data-testid": "partition-cell",
    "data-partition": cell.key,
    "data-binding": cell.binding,
    "data-owner-colour": cell.owner,
    "data-owner-instance": cell.instance ?? "",
    title: describeCell(cell),
  };
  if (onToggle && cell.binding === "live") {
    return (
      <button
        type="button"
        {...common}
        aria-pressed={selected}
        aria-label={`${describeCell(cell)}${selected ? ", selected" : ""}`}
        onClick={() => onToggle(cell.key)}
      >
        {body}
      </button>
    );
  }
  return (
    <div {...common} role="img" aria-label={describeCell(cell)}>
      {body}
    </div>
  );
}
