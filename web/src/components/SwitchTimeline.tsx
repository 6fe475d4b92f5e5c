/** A switch as a list of phases with their durations and, at the end, the outcome. */
import { useEffect, useState } from "react";
import type { Switch } from "../api/types";
import { formatDuration, formatTime } from "../lib/format";
import { isInFlight, switchOutcome, timelineSteps, totalDurationMs } from "../lib/switchTimeline";

/** While a switch runs, the running phase's elapsed time is redrawn this often (display only). */
const ELAPSED_REDRAW_MS = 500;

const STATUS_TEXT = { done: "done", active: "in progress", waiting: "waiting", halted: "did not finish" } as const;
const STATUS_SYMBOL = { done: "✓", active: "…", waiting: "○", halted: "✕" } as const;

export function SwitchTimeline({ sw }: { sw: Switch }) {
  const inFlight = isInFlight(sw.state);
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    if (!inFlight) return;
    const timer = setInterval(() => setNow(new Date()), ELAPSED_REDRAW_MS);
    return () => clearInterval(timer);
  }, [inFlight]);
  const steps = timelineSteps(sw, now);
  const outcome = switchOutcome(sw);
  return (
    <div className="timeline" data-testid="switch-timeline" data-state={sw.state}>
      <p className="timeline-meta">
        {sw.kind} #{sw.id.slice(0, 8)} by {sw.requested_by} at {formatTime(sw.requested_at)} · epoch {sw.epoch} · total{" "}
        {formatDuration(totalDurationMs(sw, now))}
      </p>
      <ol className="phases">
        {steps.map((step) => (
          <li key={step.name} className={`phase phase-${step.status}`} data-testid="switch-phase" data-phase={step.name} data-status={step.status}>
            <span className="phase-symbol" aria-hidden="true">
              {STATUS_SYMBOL[step.status]}
            </span>
            <span className="phase-label">{step.label}</span>
            <span className="phase-status">{STATUS_TEXT[step.status]}</span>
            <span className="phase-duration">{step.status === "waiting" ? "" : formatDuration(step.durationMs)}</span>
          </li>
        ))}
      </ol>
      <div
        className={`outcome outcome-${outcome.tone}`}
        role={outcome.tone === "bad" ? "alert" : "status"}
        aria-live="polite"
        data-testid="switch-outcome"
      >
        <strong>{outcome.title}</strong> {outcome.detail}
      </div>
    </div>
  );
}
