import type { Colour } from "../api/types";

/** A colour named in words with a swatch: the swatch is decoration, the word is the signal. */
export function ColourTag({ colour, suffix }: { colour: Colour | "unowned" | null; suffix?: string }) {
  const name = colour ?? "none";
  return (
    <span className={`colour-tag colour-${name}`}>
      <span className="swatch" aria-hidden="true" />
      {name}
      {suffix ? ` ${suffix}` : ""}
    </span>
  );
}
