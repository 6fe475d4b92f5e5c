import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { lagStatusInfo } from "../lib/lagStatus";
import { LagStatusBadge } from "./LagStatusBadge";

describe("LagStatusBadge", () => {
  it.each([
    ["OK", "badge-ok", "✓", /committing and lag not growing/],
    ["WARN", "badge-warn", "!", /lag growing across the window/],
    ["STALL", "badge-bad", "■", /offsets not moving while lag is above zero/],
    ["STOP", "badge-bad", "✕", /no commits in the window and no owner/],
  ])("shows %s as a word, a glyph and its Burrow meaning", (status, tone, symbol, meaning) => {
    render(<LagStatusBadge status={status} />);
    const badge = screen.getByTestId("lag-status");
    expect(badge).toHaveClass(tone);
    expect(badge).toHaveTextContent(status);
    expect(badge).toHaveTextContent(symbol);
    expect(badge).toHaveAttribute("title", expect.stringMatching(meaning));
    expect(badge).toHaveTextContent(meaning); // for screen readers, not only a tooltip
  });

  it("tells STALL and STOP apart in text although they share the alarm tone", () => {
    expect(lagStatusInfo("STALL").label).not.toEqual(lagStatusInfo("STOP").label);
    expect(lagStatusInfo("STALL").symbol).not.toEqual(lagStatusInfo("STOP").symbol);
  });

  it("renders an unknown status neutrally and by name instead of pretending it is OK", () => {
    render(<LagStatusBadge status="REWIND" />);
    const badge = screen.getByTestId("lag-status");
    expect(badge).toHaveClass("badge-neutral");
    expect(badge).toHaveTextContent("REWIND");
  });

  it("says UNKNOWN when no status has been judged yet", () => {
    render(<LagStatusBadge status={null} />);
    expect(screen.getByTestId("lag-status")).toHaveTextContent("UNKNOWN");
  });
});
