import { useSearchParams } from "react-router-dom";

/**
 * Filters live in the address (shareable, survive reload). `offset` is the page;
 * changing any other filter returns to the first page.
 */
export function useFilters<K extends string>(keys: readonly K[]) {
  const [params, setParams] = useSearchParams();
  const values = Object.fromEntries(keys.map((k) => [k, params.get(k) ?? ""])) as Record<K, string>;
  const offset = Math.max(0, Number(params.get("offset") ?? "0") || 0);
  const apply = (next: Record<K, string>) => {
    const search = new URLSearchParams();
    for (const k of keys) if (next[k]) search.set(k, next[k]);
    setParams(search);
  };
  const setOffset = (value: number) => {
    const search = new URLSearchParams(params);
    if (value > 0) search.set("offset", String(value));
    else search.delete("offset");
    setParams(search);
  };
  return { values, offset, apply, setOffset };
}
