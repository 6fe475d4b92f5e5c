/**
 * Burrow-style lag status as judged by the control plane over a window of commits
 * (docs/api.md "Live state"). The dashboard does not re-judge; it explains.
 */
import type { LagStatus } from "../api/types";

export type Tone = "ok" | "warn" | "bad" | "neutral";

export interface LagStatusInfo {
  label: string;
  tone: Tone;
  /** A glyph so the status never depends on colour alone. */
  symbol: string;
  meaning: string;
}

const INFO: Record<LagStatus, LagStatusInfo> = {
  OK: { label: "OK", tone: "ok", symbol: "✓", meaning: "committing and lag not growing over the window" },
  WARN: { label: "WARN", tone: "warn", symbol: "!", meaning: "lag growing across the window of commits" },
  STALL: { label: "STALL", tone: "bad", symbol: "■", meaning: "offsets not moving while lag is above zero" },
  STOP: { label: "STOP", tone: "bad", symbol: "✕", meaning: "no commits in the window and no owner" },
};

export function lagStatusInfo(status: string | null | undefined): LagStatusInfo {
  if (status && status in INFO) return INFO[status as LagStatus];
  return {
    label: status ? status.toUpperCase() : "UNKNOWN",
    tone: "neutral",
    symbol: "?",
    meaning: status ? "a status this dashboard does not know" : "no lag evaluation yet",
  };
}
