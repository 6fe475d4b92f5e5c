/**
 * One deployment, live. Data sources:
 * - GET deployment, state, switches and lag history once on open (they also give clear
 *   HTTP errors: 403, 404, 503);
 * - then the deployment's event stream (`state` and `switch` events) keeps the map, the
 *   instances, the lag chart and the switch timeline current, without polling.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useParams } from "react-router-dom";
import type { ColourSpec, Deployment, DeploymentState, LagPoint, Switch } from "../api/types";
import { partitionKey } from "../api/types";
import { useClient } from "../auth/AuthContext";
import { RequireRole } from "../auth/RequireRole";
import { ColourTag } from "../components/ColourTag";
import { InstancesTable } from "../components/InstancesTable";
import { LagChart } from "../components/LagChart";
import { LagStatusBadge } from "../components/LagStatusBadge";
import { OffsetResetPanel } from "../components/OffsetResetPanel";
import { OwnershipMap } from "../components/OwnershipMap";
import { PausePanel } from "../components/PausePanel";
import { PinEditor } from "../components/PinEditor";
import { ProcessingPanel } from "../components/ProcessingPanel";
import { EmptyState, ErrorState, Loading } from "../components/States";
import { StandbyColourPanel } from "../components/StandbyColourPanel";
import { SwitchPanel } from "../components/SwitchPanel";
import { useAsync } from "../hooks/useAsync";
import { useDeploymentEvents, type LiveStatus } from "../hooks/useDeploymentEvents";
import { describeTopics } from "../lib/bindingTopics";
import { formatCount, formatTime } from "../lib/format";
import { trimPoints } from "../lib/lagChart";
import { mergeSwitch, sortNewestFirst } from "../lib/switches";

/** The lag chart covers the last 15 minutes (Burrow's window is ~10 min at 60 s commits). */
const LAG_WINDOW_S = 900;
/** Bound on kept lag samples, so a tab left open for days does not grow without limit. */
const LAG_POINTS_CAP = 3000;

export function DeploymentPage() {
  const { name = "" } = useParams();
  const client = useClient();
  const deployment = useAsync((signal) => client.deployment(name, signal), [client, name]);
  const initialState = useAsync((signal) => client.state(name, signal), [client, name]);
  const history = useAsync((signal) => client.deploymentSwitches(name, 20, signal), [client, name]);
  const lagHistory = useAsync((signal) => client.lag(name, LAG_WINDOW_S, signal), [client, name]);

  const [switches, setSwitches] = useState<Switch[]>([]);
  const [lagPoints, setLagPoints] = useState<LagPoint[]>([]);

  useEffect(() => {
    if (history.data) setSwitches((known) => history.data!.data.reduce(mergeSwitch, sortNewestFirst(known)));
  }, [history.data]);
  useEffect(() => {
    const last = deployment.data?.last_switch;
    if (last && typeof last === "object" && "id" in last) setSwitches((known) => mergeSwitch(known, last));
  }, [deployment.data]);
  useEffect(() => {
    if (lagHistory.data) setLagPoints((mine) => [...lagHistory.data!.points, ...mine]);
  }, [lagHistory.data]);

  const onSwitch = useCallback((sw: Switch) => setSwitches((known) => mergeSwitch(known, sw)), []);
  const streamUrl = useMemo(
    () => (deployment.data ? (signal: AbortSignal) => client.eventsUrl(name, signal) : null),
    [client, name, deployment.data !== null],
  );
  const events = useDeploymentEvents(streamUrl, onSwitch);

  // Every live state update is also a lag sample for the chart.
  useEffect(() => {
    const s = events.state;
    if (!s || s.zookeeper !== "ok") return;
    const partitions: Record<string, number> = {};
    for (const p of s.partitions) if (p.lag !== null && p.binding === "live") partitions[partitionKey(p.topic, p.partition)] = p.lag;
    const point = { at: new Date().toISOString(), total: s.lag_total, partitions };
    setLagPoints((pts) => trimPoints([...pts, point], LAG_WINDOW_S * 1000, Date.now(), LAG_POINTS_CAP));
  }, [events.state]);

  const state: DeploymentState | null = events.state ?? initialState.data;

  // A new epoch means the deployment changed (switch, pins, pause): re-read its settings,
  // once per epoch seen, so a deployment record that lags behind ZooKeeper is not re-read in a loop.
  const liveEpoch = events.state?.epoch;
  const knownEpoch = deployment.data?.epoch;
  const reloadDeployment = deployment.reload;
  const reloadedFor = useRef<number | null>(null);
  useEffect(() => {
    if (liveEpoch === undefined || knownEpoch === undefined || liveEpoch <= knownEpoch) return;
    if (reloadedFor.current === liveEpoch) return;
    reloadedFor.current = liveEpoch;
    reloadDeployment();
  }, [liveEpoch, knownEpoch, reloadDeployment]);

  if (deployment.status === "error" && !deployment.data) {
    return (
      <>
        <Breadcrumb name={name} />
        <ErrorState
          title={deployment.httpStatus === 404 ? `There is no deployment named “${name}”.` : `Deployment ${name} could not be loaded.`}
          message={deployment.error}
          onRetry={deployment.reload}
        />
      </>
    );
  }
  if (!deployment.data) return <Loading what={`deployment ${name}`} />;
  const d = deployment.data;
  const current = switches[0] ?? null;

  return (
    <>
      <Breadcrumb name={name} />
      <div className="page-head">
        <h1>{d.name}</h1>
        <div className="head-facts">
          <span>
            live: <ColourTag colour={state?.active_colour ?? d.active_colour} />
          </span>
          <span>epoch {state?.epoch ?? d.epoch}</span>
          {state ? (
            <span>
              lag {formatCount(state.lag_total)} <LagStatusBadge status={state.lag_status} />
            </span>
          ) : null}
          {(state?.paused ?? d.paused) ? <span className="badge badge-warn">paused</span> : null}
          <LiveIndicator status={events.status} at={events.receivedAt} onReconnect={events.reconnect} />
        </div>
      </div>
      <StateProblems state={state} stateError={initialState.status === "error" && !events.state ? initialState.error : null} live={events.status} onReconnect={events.reconnect} />

      <div className="grid">
        <section className="card span-2" aria-labelledby="map-h" data-testid="ownership-section">
          <h2 id="map-h">Partition ownership</h2>
          {state && state.zookeeper === "ok" ? (
            <OwnershipMap partitions={state.partitions} pins={d.pins} />
          ) : state ? (
            <EmptyState title="Ownership cannot be read while ZooKeeper is unreachable." />
          ) : initialState.status === "error" ? (
            <EmptyState title="Ownership is not known yet." />
          ) : (
            <Loading what="ownership" />
          )}
        </section>

        <section className="card" aria-labelledby="switch-h">
          <h2 id="switch-h">Switch and rollback</h2>
          <SwitchPanel deployment={d} state={state} current={current} history={switches} onStarted={onSwitch} />
          <RequireRole min="operator" fallback={<ReadOnlyNote what="Switching and rolling back" />}>{null}</RequireRole>
          <p className="small">
            <Link to={`/switches?deployment=${encodeURIComponent(d.name)}`}>All switches of {d.name}</Link>
          </p>
        </section>

        <section className="card" aria-labelledby="lag-h">
          <h2 id="lag-h">Lag, last {LAG_WINDOW_S / 60} minutes</h2>
          {lagHistory.status === "error" ? (
            <p className="state state-error" role="alert">
              Lag history could not be loaded ({lagHistory.error}); the chart shows live samples only.
            </p>
          ) : null}
          <LagChart
            points={lagPoints}
            partitions={(state?.partitions ?? []).filter((p) => p.binding === "live").map((p) => partitionKey(p.topic, p.partition))}
          />
        </section>

        <section className="card span-2" aria-labelledby="inst-h">
          <h2 id="inst-h">Instances</h2>
          {state && state.zookeeper === "ok" ? (
            <InstancesTable instances={state.instances} epoch={state.epoch} processingVersion={state.processing_version} />
          ) : state ? (
            <EmptyState title="Instances cannot be read while ZooKeeper is unreachable." />
          ) : (
            <Loading what="instances" />
          )}
        </section>

        <RequireRole min="operator" fallback={<section className="card span-2"><ReadOnlyNote what="Manual assignment, pause/resume and offset resets" /></section>}>
          <section className="card span-2" aria-labelledby="pins-h">
            <h2 id="pins-h">Manual assignment</h2>
            {state && state.zookeeper === "ok" ? (
              <PinEditor deployment={d} state={state} onApplied={deployment.setData} />
            ) : (
              <EmptyState title="Pins can be edited once the live state is known." />
            )}
          </section>
          <section className="card" aria-labelledby="pause-h">
            <h2 id="pause-h">Pause and resume</h2>
            <PausePanel deployment={d} paused={state?.paused ?? d.paused} onChanged={deployment.setData} />
          </section>
          <section className="card" aria-labelledby="reset-h">
            <h2 id="reset-h">Offset reset</h2>
            {state && state.zookeeper === "ok" ? (
              <OffsetResetPanel deployment={d} state={state} />
            ) : (
              <EmptyState title="Offsets can be reset once the live state is known." />
            )}
          </section>
        </RequireRole>

        <section className="card span-2" aria-labelledby="cfg-h">
          <h2 id="cfg-h">Configuration</h2>
          <DeploymentFacts d={d} />
          <h3 className="subhead">Standby colour</h3>
          <StandbyColourPanel deployment={d} onSaved={deployment.setData} />
          <h3 className="subhead">Processing</h3>
          <ProcessingPanel deployment={d} state={state} onSaved={deployment.setData} />
        </section>
      </div>
    </>
  );
}

function Breadcrumb({ name }: { name: string }) {
  return (
    <nav aria-label="Breadcrumb" className="breadcrumb">
      <Link to="/">Deployments</Link> / <span aria-current="page">{name}</span>
    </nav>
  );
}

function ReadOnlyNote({ what }: { what: string }) {
  return (
    <p className="muted read-only" data-testid="read-only-note">
      Read-only: {what} need the operator role.
    </p>
  );
}

const LIVE_TEXT: Record<LiveStatus, string> = {
  connecting: "connecting to live updates…",
  open: "live",
  reconnecting: "live updates interrupted, reconnecting…",
  closed: "live updates stopped",
};

function LiveIndicator({ status, at, onReconnect }: { status: LiveStatus; at: Date | null; onReconnect: () => void }) {
  return (
    <span className={`live live-${status}`} data-testid="live-status" data-status={status}>
      {/* Only the connection state is announced; the update time changes every second. */}
      <span role="status">
        <span aria-hidden="true">{status === "open" ? "●" : "○"}</span> {LIVE_TEXT[status]}
      </span>
      {at ? <span className="muted small"> (update {formatTime(at.toISOString())})</span> : null}
      {status === "closed" ? (
        <button type="button" className="link" onClick={onReconnect}>
          Reconnect
        </button>
      ) : null}
    </span>
  );
}

function StateProblems({
  state,
  stateError,
  live,
  onReconnect,
}: {
  state: DeploymentState | null;
  stateError: string | null;
  live: LiveStatus;
  onReconnect: () => void;
}) {
  const problems = [];
  if (state && state.zookeeper !== "ok") {
    problems.push(
      <ErrorState
        key="zk"
        title="ZooKeeper is unreachable from the control plane."
        message={`${state.zookeeper.replace(/^unreachable:\s*/, "")}. Ownership and instances cannot be read and no switch can start until it is back; consumers keep their current partitions.`}
      />,
    );
  }
  if (state && state.kafka && state.kafka !== "ok") {
    problems.push(
      <ErrorState
        key="kafka"
        title="Kafka is unreachable from the control plane."
        message={`${state.kafka.replace(/^unreachable:\s*/, "")}. Committed and end offsets, and so lag, cannot be read.`}
      />,
    );
  }
  if (stateError) {
    problems.push(<ErrorState key="state" title="The live state could not be read." message={stateError} />);
  }
  if (live === "closed") {
    problems.push(
      <ErrorState
        key="live"
        title="Live updates stopped."
        message="The event stream was closed by the control plane (token rejected, or the service restarted). What you see may be stale."
        onRetry={onReconnect}
      />,
    );
  }
  return problems.length ? <div className="problems">{problems}</div> : null;
}

function DeploymentFacts({ d }: { d: Deployment }) {
  return (
    <dl className="facts">
      <dt>Cluster</dt>
      <dd>{d.cluster}</dd>
      <dt>Live binding</dt>
      <dd>
        group <code>{d.live.group}</code> on {describeTopics(d.live, d.mirror)}
      </dd>
      <dt>Preview binding</dt>
      <dd>{d.preview ? <>group <code>{d.preview.group}</code> on {d.preview.topics.join(", ")}</> : "none"}</dd>
      <dt>Colours</dt>
      <dd data-testid="colour-facts">
        blue {describeColour(d.colours.blue)}, green {describeColour(d.colours.green)}
      </dd>
      {d.mirror ? (
        <>
          <dt>Mirror</dt>
          <dd data-testid="mirror-facts">
            to {d.mirror.target_cluster} ({d.mirror.naming} naming
            {d.mirror.coordinate_headers ? ", source coordinates as headers" : ""}):{" "}
            {Object.entries(d.mirror.target_topics)
              .map(([source, copy]) => `${source} → ${copy}`)
              .join(", ")}
            {d.mirror.source_topic_pattern
              ? `${Object.keys(d.mirror.target_topics).length > 0 ? ", and " : ""}every source topic matching ${d.mirror.source_topic_pattern}`
              : ""}
          </dd>
        </>
      ) : null}
      <dt>Strategy</dt>
      <dd>
        {d.strategy}, drain timeout {d.drain_timeout_ms} ms
      </dd>
      <dt>Manual pins</dt>
      <dd data-testid="pins-in-force">
        {Object.keys(d.pins).length === 0
          ? "none"
          : Object.entries(d.pins)
              .map(([k, v]) => `${k} → ${v}`)
              .join(", ")}{" "}
        (if the instance is absent: {d.absent_pin_policy.replace("_", " ")})
      </dd>
      <dt>Updated</dt>
      <dd>{formatTime(d.updated_at)}</dd>
    </dl>
  );
}

/** A colour's version and role, and where it runs when that is across a mirror. */
function describeColour(colour: ColourSpec | undefined): string {
  if (!colour) return "?";
  const across = colour.via_mirror ? ` on ${colour.cluster ?? "?"} via mirror ${colour.via_mirror}` : "";
  return `${colour.version} (${colour.role})${across}`;
}
