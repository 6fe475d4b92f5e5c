/**
 * Manual assignment: choose partitions on the map, pick an instance, preview the plan the
 * control plane computes (POST …/pins/preview), then apply (PUT …/pins).
 *
 * Apply is offered only for the exact draft that was previewed: change anything and the
 * preview must be run again (dry run, then approve, as in Cruise Control).
 */
import { useId, useState } from "react";
import type { AbsentPinPolicy, Deployment, DeploymentState, PinPlan, PinRequest } from "../api/types";
import { useAuth, useClient } from "../auth/AuthContext";
import { samePins, withPins } from "../lib/pinPlan";
import { ConfirmDialog } from "./ConfirmDialog";
import { OwnershipMap } from "./OwnershipMap";
import { PlanPreview } from "./PlanPreview";
import { EmptyState } from "./States";

export function PinEditor({
  deployment,
  state,
  onApplied,
}: {
  deployment: Deployment;
  state: DeploymentState;
  onApplied: (d: Deployment) => void;
}) {
  const client = useClient();
  const { handleError } = useAuth();
  const [draft, setDraft] = useState<Record<string, string>>(() => ({ ...deployment.pins }));
  const [policy, setPolicy] = useState<AbsentPinPolicy>(deployment.absent_pin_policy);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const registered = state.instances.map((i) => i.instance).sort();
  // Pins address the live binding: only instances of the live colour can take them.
  const liveMembers = state.instances.filter((i) => i.colour === state.active_colour).map((i) => i.instance);
  const [instance, setInstance] = useState<string>("");
  const [preview, setPreview] = useState<{ request: PinRequest; plan: PinPlan } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const instanceId = useId();
  const policyId = useId();

  const livePartitions = state.partitions.filter((p) => p.binding === "live");
  const request: PinRequest = { pins: draft, absent_pin_policy: policy };
  const previewIsCurrent =
    preview !== null && samePins(preview.request.pins, draft) && preview.request.absent_pin_policy === policy;
  const changed = !samePins(draft, deployment.pins) || policy !== deployment.absent_pin_policy;

  const toggle = (key: string) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });

  const runPreview = async () => {
    setBusy(true);
    setError(null);
    try {
      const plan = await client.previewPins(deployment.name, request);
      setPreview({ request, plan });
    } catch (err) {
      setError(handleError(err));
    } finally {
      setBusy(false);
    }
  };

  const apply = async () => {
    setBusy(true);
    setError(null);
    try {
      const updated = await client.applyPins(deployment.name, request);
      onApplied(updated);
      setDraft({ ...updated.pins });
      setPolicy(updated.absent_pin_policy);
      setPreview(null);
      setSelected(new Set());
      setConfirming(false);
    } catch (err) {
      setError(handleError(err));
    } finally {
      setBusy(false);
    }
  };

  if (livePartitions.length === 0) {
    return <EmptyState title="No live partitions are known, so there is nothing to pin." />;
  }

  const instanceOptions = [...new Set([...registered, ...Object.values(draft)])].sort();
  // Instances register and leave while the page is open: keep the choice on a real option.
  const chosen = instanceOptions.includes(instance) ? instance : (instanceOptions[0] ?? "");
  const colourOf = (name: string) => {
    const found = state.instances.find((i) => i.instance === name);
    if (!found) return "not registered";
    return found.colour === state.active_colour ? `${found.colour}, live` : `${found.colour}, not live`;
  };

  return (
    <div className="pin-editor" data-testid="pin-editor">
      <p className="muted">Choose partitions (click or press Enter/Space on a cell), then pick the instance to pin them to.</p>
      <OwnershipMap partitions={livePartitions} pins={draft} selected={selected} onToggle={toggle} />
      <div className="inline-form">
        <span>{selected.size} selected</span>
        <button type="button" onClick={() => setSelected(new Set(livePartitions.map((p) => `${p.topic}/${p.partition}`)))}>
          Select all
        </button>
        <button type="button" onClick={() => setSelected(new Set())} disabled={selected.size === 0}>
          Clear selection
        </button>
      </div>
      <div className="inline-form">
        <label htmlFor={instanceId}>Pin to instance</label>
        <select id={instanceId} value={chosen} onChange={(e) => setInstance(e.target.value)}>
          {instanceOptions.length === 0 ? <option value="">(no instance registered)</option> : null}
          {instanceOptions.map((name) => (
            <option key={name} value={name}>
              {name} ({colourOf(name)})
            </option>
          ))}
        </select>
        <button
          type="button"
          disabled={selected.size === 0 || chosen === ""}
          onClick={() => setDraft((d) => withPins(d, selected, chosen))}
        >
          Pin selected
        </button>
        <button type="button" disabled={selected.size === 0} onClick={() => setDraft((d) => withPins(d, selected, null))}>
          Unpin selected
        </button>
      </div>
      <div className="inline-form">
        <label htmlFor={policyId}>If the pinned instance is not registered</label>
        <select id={policyId} value={policy} onChange={(e) => setPolicy(e.target.value as AbsentPinPolicy)}>
          <option value="leave_unowned">leave the partition unowned</option>
          <option value="fallback">fall back to the range strategy</option>
        </select>
      </div>
      <h4>Draft pins</h4>
      {Object.keys(draft).length === 0 ? (
        <p className="muted">No pins: the strategy ({deployment.strategy}) assigns every partition.</p>
      ) : (
        <ul className="pin-list" data-testid="draft-pins">
          {Object.entries(draft)
            .sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))
            .map(([key, to]) => (
              <li key={key}>
                <code>{key}</code> → {to}{" "}
                <button type="button" className="link" aria-label={`Remove pin of ${key}`} onClick={() => setDraft((d) => withPins(d, [key], null))}>
                  remove
                </button>
              </li>
            ))}
        </ul>
      )}
      <div className="actions">
        <button type="button" onClick={runPreview} disabled={busy || !changed}>
          Preview plan
        </button>
        <button type="button" className="primary" onClick={() => setConfirming(true)} disabled={busy || !previewIsCurrent}>
          Apply pins…
        </button>
        <button
          type="button"
          disabled={busy || !changed}
          onClick={() => {
            setDraft({ ...deployment.pins });
            setPolicy(deployment.absent_pin_policy);
          }}
        >
          Discard draft
        </button>
        {!changed ? <span className="muted">The draft equals the pins in force.</span> : null}
        {changed && !previewIsCurrent ? <span className="muted">Preview the plan before applying.</span> : null}
      </div>
      {error && !confirming ? (
        <p className="state state-error" role="alert">
          {error}
        </p>
      ) : null}
      {preview && previewIsCurrent ? <PlanPreview plan={preview.plan} registered={liveMembers} /> : null}
      {confirming && preview ? (
        <ConfirmDialog
          title={`Apply pins to ${deployment.name}?`}
          confirmLabel="Apply pins"
          onConfirm={apply}
          onCancel={() => setConfirming(false)}
          busy={busy}
          error={error}
        >
          <p>
            A new directive (epoch {deployment.epoch} → {deployment.epoch + 1}) carries {Object.keys(draft).length} pin
            {Object.keys(draft).length === 1 ? "" : "s"}. Owners of moving partitions commit and release them; the pinned
            instances then claim them.
          </p>
          <PlanPreview plan={preview.plan} registered={liveMembers} />
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
