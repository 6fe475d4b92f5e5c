export function Pager({
  offset,
  limit,
  count,
  onOffset,
}: {
  offset: number;
  limit: number;
  count: number;
  onOffset: (offset: number) => void;
}) {
  if (count <= limit && offset === 0) return <p className="muted small">{count} in total</p>;
  const last = Math.min(offset + limit, count);
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - limit))}>
        Newer
      </button>
      <span>
        {count === 0 ? 0 : offset + 1}–{last} of {count}
      </span>
      <button type="button" disabled={last >= count} onClick={() => onOffset(offset + limit)}>
        Older
      </button>
    </nav>
  );
}
