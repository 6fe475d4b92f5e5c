import { lagStatusInfo } from "../lib/lagStatus";

/** A Burrow-style status badge: glyph + word + tone; the meaning is in the title and for screen readers. */
export function LagStatusBadge({ status }: { status: string | null | undefined }) {
  const info = lagStatusInfo(status);
  return (
    <span
      className={`badge badge-${info.tone}`}
      title={info.meaning}
      data-testid="lag-status"
      data-status={info.label}
    >
      <span aria-hidden="true">{info.symbol}</span> {info.label}
      <span className="visually-hidden">: {info.meaning}</span>
    </span>
  );
}
