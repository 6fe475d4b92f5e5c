/**
 * Switch and rollback: controls (operators only), a confirmation that says what will
 * happen, and the live timeline of the current or most recent switch.
 */
import { useId, useState } from "react";
import type { Colour, ColourReadiness, Deployment, DeploymentState, Switch } from "../api/types";
import { useAuth, useClient } from "../auth/AuthContext";
import { RequireRole } from "../auth/RequireRole";
import { formatDuration, newIdempotencyKey } from "../lib/format";
import { isInFlight } from "../lib/switchTimeline";
import { ColourTag } from "./ColourTag";
import { ConfirmDialog } from "./ConfirmDialog";
import { EmptyState } from "./States";
import { SwitchTimeline } from "./SwitchTimeline";

/** The API's example default; long enough for a drain of the default 10 s plus claims. */
const DEFAULT_SWITCH_TIMEOUT_S = 60;
/** How long the control plane waits for a cold colour by default: agents that just
 * started warm up within seconds; the API's bound is 120 s. */
const DEFAULT_WAIT_READY_S = 30;
const MAX_WAIT_READY_S = 120;

type Pending = { kind: "switch"; to: Colour } | { kind: "rollback"; to: Colour | null };

export function otherColour(colour: Colour): Colour {
  return colour === "blue" ? "green" : "blue";
}

/** The colour a rollback returns to: the one live before the last completed switch. */
export function rollbackTarget(history: readonly Switch[]): Colour | null {
  const done = history.find((s) => s.state === "completed");
  return done ? done.from_colour : null;
}

export function SwitchPanel({
  deployment,
  state,
  current,
  history,
  onStarted,
}: {
  deployment: Deployment;
  state: DeploymentState | null;
  current: Switch | null;
  history: readonly Switch[];
  onStarted: (sw: Switch) => void;
}) {
  const client = useClient();
  const { handleError } = useAuth();
  const [pending, setPending] = useState<Pending | null>(null);
  const [timeoutS, setTimeoutS] = useState(DEFAULT_SWITCH_TIMEOUT_S);
  const [waitReadyS, setWaitReadyS] = useState(DEFAULT_WAIT_READY_S);
  const [force, setForce] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // One key per confirmation: a double click or a retry of the same request cannot start two switches.
  const [idempotencyKey, setIdempotencyKey] = useState(newIdempotencyKey);
  const timeoutId = useId();
  const waitId = useId();
  const forceId = useId();

  const active = state?.active_colour ?? deployment.active_colour;
  const target = otherColour(active);
  const inFlight = current !== null && isInFlight(current.state);
  const zkDown = state !== null && state.zookeeper !== "ok";
  const blocked = inFlight ? "A switch is in flight; wait for its outcome." : zkDown ? "ZooKeeper is unreachable." : null;
  const back = rollbackTarget(history);

  const open = (p: Pending) => {
    setPending(p);
    setError(null);
    setForce(false);
    setIdempotencyKey(newIdempotencyKey());
  };

  const confirm = async () => {
    if (!pending) return;
    setBusy(true);
    setError(null);
    try {
      const gate = { force, waitReadyMs: force ? 0 : waitReadyS * 1000 };
      const sw =
        pending.kind === "switch"
          ? await client.startSwitch(deployment.name, pending.to, timeoutS, idempotencyKey, gate)
          : await client.rollback(deployment.name, timeoutS, idempotencyKey, gate);
      onStarted(sw);
      setPending(null);
    } catch (err) {
      setError(handleError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="switch-panel">
      <p>
        Live now: <ColourTag colour={active} suffix={`(${deployment.colours[active]?.version ?? "?"})`} /> · standby:{" "}
        <ColourTag colour={target} suffix={`(${deployment.colours[target]?.version ?? "?"})`} />
      </p>
      {state?.readiness ? <ReadinessLine colour={target} readiness={state.readiness[target]} /> : null}
      <RequireRole min="operator">
        <div className="actions">
          <button type="button" className="primary" disabled={blocked !== null} onClick={() => open({ kind: "switch", to: target })}>
            Switch to {target}…
          </button>
          <button type="button" disabled={blocked !== null} onClick={() => open({ kind: "rollback", to: back })}>
            Roll back…
          </button>
          {blocked ? <span className="muted">{blocked}</span> : null}
        </div>
      </RequireRole>
      {current ? (
        <SwitchTimeline sw={current} />
      ) : (
        <EmptyState title="No switch has run for this deployment yet." />
      )}
      {pending ? (
        <ConfirmDialog
          title={pending.kind === "switch" ? `Switch ${deployment.name} to ${pending.to}?` : `Roll back ${deployment.name}?`}
          confirmLabel={pending.kind === "switch" ? `Switch to ${pending.to}` : "Roll back"}
          onConfirm={confirm}
          onCancel={() => setPending(null)}
          busy={busy}
          danger
          error={error}
        >
          <SwitchExplanation deployment={deployment} state={state} from={active} to={pending.to} kind={pending.kind} />
          {pending.to && state?.readiness ? <ReadinessLine colour={pending.to} readiness={state.readiness[pending.to]} /> : null}
          <div className="inline-form">
            <label htmlFor={waitId}>Wait for readiness up to (seconds)</label>
            <input
              id={waitId}
              type="number"
              min={0}
              max={MAX_WAIT_READY_S}
              value={waitReadyS}
              disabled={force}
              onChange={(e) => setWaitReadyS(Math.min(MAX_WAIT_READY_S, Math.max(0, Number(e.target.value) || 0)))}
            />
          </div>
          <div className="inline-form">
            <input id={forceId} type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} />
            <label htmlFor={forceId}>Switch even if it is not ready (its partitions may stall while it warms up)</label>
          </div>
          {busy && !force ? <p className="muted" role="status">Waiting for the colour to be ready, then switching…</p> : null}
          <div className="inline-form">
            <label htmlFor={timeoutId}>Give up after (seconds)</label>
            <input
              id={timeoutId}
              type="number"
              min={1}
              max={3600}
              value={timeoutS}
              onChange={(e) => setTimeoutS(Math.max(1, Number(e.target.value) || DEFAULT_SWITCH_TIMEOUT_S))}
            />
          </div>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}

/** Whether a switch to `colour` would pass the readiness gate, and if not, why. */
function ReadinessLine({ colour, readiness }: { colour: Colour; readiness: ColourReadiness | undefined }) {
  if (!readiness) return null;
  if (readiness.ready) {
    return (
      <p className="small" data-testid="switch-readiness" data-ready="true">
        <span className="badge badge-ok">ready</span> {readiness.ready_instances} of {readiness.instances} {colour} instance
        {readiness.instances === 1 ? "" : "s"} ready to take over.
      </p>
    );
  }
  return (
    <p className="warning" role="note" data-testid="switch-readiness" data-ready="false">
      {colour} is not ready: {readiness.refusal}. A switch waits for it (below) or is refused, unless forced.
    </p>
  );
}

function SwitchExplanation({
  deployment,
  state,
  from,
  to,
  kind,
}: {
  deployment: Deployment;
  state: DeploymentState | null;
  from: Colour;
  to: Colour | null;
  kind: "switch" | "rollback";
}) {
  const instances = state?.instances ?? [];
  const fromCount = instances.filter((i) => i.colour === from).length;
  const toCount = to ? instances.filter((i) => i.colour === to).length : null;
  const partitions = state?.partitions.filter((p) => p.binding === "live").length ?? null;
  const pins = Object.keys(deployment.pins).length;
  if (kind === "rollback" && to === null) {
    return (
      <p>
        The control plane switches back to the colour that was live before the last completed switch. No completed switch is
        listed here, so it may refuse.
      </p>
    );
  }
  const target = to as Colour;
  return (
    <div data-testid="switch-explanation">
      <p>
        {kind === "rollback" ? "Roll back: " : ""}
        <strong>{deployment.name}</strong> moves from <ColourTag colour={from} suffix={`${deployment.colours[from]?.version ?? ""}`} /> to{" "}
        <ColourTag colour={target} suffix={`${deployment.colours[target]?.version ?? ""}`} />.
      </p>
      <ol>
        <li>
          A new directive (epoch {deployment.epoch} → {deployment.epoch + 1}) makes {target} live for group{" "}
          <code>{deployment.live.group}</code>.
        </li>
        <li>
          The {fromCount} {from} instance{fromCount === 1 ? "" : "s"} commit, drain in-flight work (up to{" "}
          {formatDuration(deployment.drain_timeout_ms)}) and release {partitions ?? "their"} partition{partitions === 1 ? "" : "s"}.
        </li>
        <li>
          The {toCount} {target} instance{toCount === 1 ? "" : "s"} claim them and continue from the committed offsets.
        </li>
        {pins > 0 ? <li>{pins} manual pin{pins === 1 ? "" : "s"} stay in force.</li> : null}
      </ol>
      {toCount === 0 ? (
        <p className="warning" role="note">
          No {target} instance is registered: the partitions would stay unowned and nothing would consume until one starts.
        </p>
      ) : null}
    </div>
  );
}
