/**
 * Offset reset: build a request, run it as a dry run to see the plan (current → target per
 * partition), then execute exactly that request after a confirmation. The control plane
 * refuses (409) while an instance owns any of the partitions; the panel warns beforehand.
 */
import { useId, useState } from "react";
import type { Deployment, DeploymentState, OffsetResetPlan, OffsetResetRequest, ResetTarget } from "../api/types";
import { partitionKey } from "../api/types";
import { useAuth, useClient } from "../auth/AuthContext";
import { formatCount } from "../lib/format";
import { ConfirmDialog } from "./ConfirmDialog";
import { EmptyState } from "./States";

type Binding = "live" | "preview";

/** Beyond this many, owned partitions are counted rather than listed. */
const OWNED_LISTED = 8;

function sameRequest(a: OffsetResetRequest, b: OffsetResetRequest): boolean {
  return JSON.stringify({ ...a, dry_run: true }) === JSON.stringify({ ...b, dry_run: true });
}

export function OffsetResetPanel({ deployment, state }: { deployment: Deployment; state: DeploymentState }) {
  const client = useClient();
  const { handleError } = useAuth();
  const [binding, setBinding] = useState<Binding>("live");
  const [to, setTo] = useState<ResetTarget>("latest");
  const [timestamp, setTimestamp] = useState("");
  const [explicit, setExplicit] = useState<Record<string, string>>({});
  const [plan, setPlan] = useState<{ request: OffsetResetRequest; result: OffsetResetPlan } | null>(null);
  const [executed, setExecuted] = useState<OffsetResetPlan | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const ids = { binding: useId(), to: useId(), ts: useId() };

  const partitions = state.partitions.filter((p) => p.binding === binding);
  const owned = partitions.filter((p) => p.owner_instance).map((p) => partitionKey(p.topic, p.partition));
  const group = binding === "live" ? deployment.live.group : deployment.preview?.group;

  let request: OffsetResetRequest | null = { binding, to, dry_run: true };
  let formProblem: string | null = null;
  if (to === "timestamp") {
    // The input is read as UTC, like every time on this dashboard.
    const ms = Date.parse(`${timestamp}Z`);
    if (!timestamp || Number.isNaN(ms)) {
      formProblem = "Enter a time (UTC).";
      request = null;
    } else request.timestamp_ms = ms;
  } else if (to === "explicit") {
    const offsets: Record<string, number> = {};
    for (const p of partitions) {
      const key = partitionKey(p.topic, p.partition);
      const raw = explicit[key] ?? (p.committed_offset === null ? "" : String(p.committed_offset));
      if (raw === "") continue;
      const value = Number(raw);
      if (!Number.isInteger(value) || value < 0) {
        formProblem = `Offset for ${key} must be a whole number ≥ 0.`;
      }
      offsets[key] = value;
    }
    if (Object.keys(offsets).length === 0) formProblem = formProblem ?? "Give at least one offset.";
    if (formProblem) request = null;
    else request.offsets = offsets;
  }
  const planIsCurrent = plan !== null && request !== null && sameRequest(plan.request, request);

  const dryRun = async () => {
    if (!request) return;
    setBusy(true);
    setError(null);
    setExecuted(null);
    try {
      const result = await client.resetOffsets(deployment.name, request);
      setPlan({ request, result });
    } catch (err) {
      setError(handleError(err));
    } finally {
      setBusy(false);
    }
  };

  const execute = async () => {
    if (!plan) return;
    setBusy(true);
    setError(null);
    try {
      const result = await client.resetOffsets(deployment.name, { ...plan.request, dry_run: false });
      setExecuted(result);
      setPlan(null);
      setConfirming(false);
    } catch (err) {
      setError(handleError(err));
    } finally {
      setBusy(false);
    }
  };

  if (partitions.length === 0 && !deployment.preview) {
    return <EmptyState title="No partitions are known for this binding, so there are no offsets to reset." />;
  }

  return (
    <div className="offset-reset" data-testid="offset-reset">
      <div className="inline-form">
        <label htmlFor={ids.binding}>Binding</label>
        <select id={ids.binding} value={binding} onChange={(e) => setBinding(e.target.value as Binding)}>
          <option value="live">live (group {deployment.live.group})</option>
          {deployment.preview ? <option value="preview">preview (group {deployment.preview.group})</option> : null}
        </select>
        <label htmlFor={ids.to}>Reset to</label>
        <select id={ids.to} value={to} onChange={(e) => setTo(e.target.value as ResetTarget)}>
          <option value="latest">latest (skip everything not yet consumed)</option>
          <option value="earliest">earliest (re-process everything retained)</option>
          <option value="timestamp">a point in time</option>
          <option value="explicit">explicit offsets</option>
        </select>
        {to === "timestamp" ? (
          <>
            <label htmlFor={ids.ts}>Time (UTC)</label>
            <input id={ids.ts} type="datetime-local" step={1} value={timestamp} onChange={(e) => setTimestamp(e.target.value)} />
          </>
        ) : null}
      </div>
      {to === "explicit" ? (
        <table>
          <caption>Offsets per partition (pre-filled with the committed offset)</caption>
          <thead>
            <tr>
              <th scope="col">Partition</th>
              <th scope="col" className="num">Committed</th>
              <th scope="col" className="num">End</th>
              <th scope="col">New offset</th>
            </tr>
          </thead>
          <tbody>
            {partitions.map((p) => {
              const key = partitionKey(p.topic, p.partition);
              return (
                <tr key={key}>
                  <th scope="row">{key}</th>
                  <td className="num">{formatCount(p.committed_offset)}</td>
                  <td className="num">{formatCount(p.end_offset)}</td>
                  <td>
                    <input
                      type="number"
                      min={0}
                      aria-label={`New offset for ${key}`}
                      value={explicit[key] ?? (p.committed_offset === null ? "" : String(p.committed_offset))}
                      onChange={(e) => setExplicit((x) => ({ ...x, [key]: e.target.value }))}
                    />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      {owned.length > 0 ? (
        <p className="warning" role="note">
          {owned.length === partitions.length
            ? `All ${owned.length} partitions of this binding are owned by running instances now.`
            : `Owned by running instances now: ${owned.slice(0, OWNED_LISTED).join(", ")}${owned.length > OWNED_LISTED ? ` and ${owned.length - OWNED_LISTED} more` : ""}.`}{" "}
          Executing is refused until no instance owns them (stop their consumers first); the dry run works regardless.
        </p>
      ) : null}
      <div className="actions">
        <button type="button" onClick={dryRun} disabled={busy || request === null}>
          Dry run
        </button>
        <button type="button" className="danger" onClick={() => setConfirming(true)} disabled={busy || !planIsCurrent}>
          Execute reset…
        </button>
        {formProblem ? <span className="muted">{formProblem}</span> : null}
        {request && !planIsCurrent ? <span className="muted">Run the dry run to see the plan before executing.</span> : null}
      </div>
      {error && !confirming ? (
        <p className="state state-error" role="alert">
          {error}
        </p>
      ) : null}
      {plan && planIsCurrent ? <ResetPlanTable plan={plan.result} title="Dry-run plan (nothing changed yet)" /> : null}
      {executed ? <ResetPlanTable plan={executed} title="Executed: committed offsets are now" /> : null}
      {confirming && plan ? (
        <ConfirmDialog
          title={`Reset offsets of group ${group ?? "?"}?`}
          confirmLabel="Execute reset"
          onConfirm={execute}
          onCancel={() => setConfirming(false)}
          busy={busy}
          danger
          error={error}
        >
          <p>
            The committed offsets of {plan.result.partitions.length} partition{plan.result.partitions.length === 1 ? "" : "s"} change
            as below. Moving back re-processes messages; moving forward skips them for good.
          </p>
          <ResetPlanTable plan={plan.result} title="Plan" />
        </ConfirmDialog>
      ) : null}
    </div>
  );
}

function ResetPlanTable({ plan, title }: { plan: OffsetResetPlan; title: string }) {
  if (plan.partitions.length === 0) {
    return <EmptyState title={`${title}: no partition is affected.`} />;
  }
  return (
    <table data-testid="reset-plan">
      <caption>{title}</caption>
      <thead>
        <tr>
          <th scope="col">Partition</th>
          <th scope="col" className="num">Current</th>
          <th scope="col" className="num">Target</th>
          <th scope="col" className="num">Change</th>
        </tr>
      </thead>
      <tbody>
        {plan.partitions.map((p) => {
          const delta = p.current === null ? null : p.target - p.current;
          return (
            <tr key={p.partition}>
              <th scope="row">{p.partition}</th>
              <td className="num">{p.current === null ? "none committed" : formatCount(p.current)}</td>
              <td className="num">{formatCount(p.target)}</td>
              <td className="num">
                {delta === null ? "—" : delta === 0 ? "no change" : delta > 0 ? `skips ${formatCount(delta)}` : `re-reads ${formatCount(-delta)}`}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
