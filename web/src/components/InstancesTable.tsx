import type { InstanceState } from "../api/types";
import { formatCount, formatRate } from "../lib/format";
import { ColourTag } from "./ColourTag";
import { EmptyState } from "./States";

/**
 * The registered instances with what they report: state, readiness, the directive epoch
 * and the processing settings version they run. An instance behind the newest epoch or
 * settings version, or one that refused the newest settings, is marked. Partitions count
 * the owner nodes, the same reading the ownership map shows.
 */
export function InstancesTable({
  instances,
  epoch,
  processingVersion,
}: {
  instances: readonly InstanceState[];
  epoch: number;
  processingVersion: number;
}) {
  if (instances.length === 0) {
    return (
      <EmptyState title="No instances are registered for this deployment.">
        Nothing is consuming: start agents for a colour (<code>turnout agent run …</code>) and they appear here as they
        register in ZooKeeper.
      </EmptyState>
    );
  }
  const sorted = [...instances].sort((a, b) => a.colour.localeCompare(b.colour) || a.instance.localeCompare(b.instance));
  return (
    <div className="table-scroll">
      <table data-testid="instances-table">
        <thead>
          <tr>
            <th scope="col">Instance</th>
            <th scope="col">Colour · version</th>
            <th scope="col">State</th>
            <th scope="col">Ready</th>
            <th scope="col">Epoch acknowledged</th>
            <th scope="col">Settings</th>
            <th scope="col" className="num">
              Partitions
            </th>
            <th scope="col" className="num">
              Rate
            </th>
            <th scope="col" className="num">
              Errors
            </th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((i) => (
            <tr key={i.instance} data-testid="instance-row" data-instance={i.instance}>
              <th scope="row">
                {i.instance}
                <div className="muted small">
                  {i.host} pid {i.pid}
                </div>
              </th>
              <td>
                <ColourTag colour={i.colour} suffix={i.version} />
              </td>
              <td>
                {i.state}
                {i.fenced ? <span className="badge badge-bad"> fenced</span> : null}
              </td>
              <td data-testid="instance-ready" data-ready={String(i.ready)}>
                <Readiness instance={i} />
              </td>
              <td>
                {i.epoch ?? "none yet"}
                {i.epoch !== null && i.epoch < epoch ? <span className="badge badge-warn"> behind ({epoch})</span> : null}
              </td>
              <td data-testid="instance-settings" data-current={String(i.processing_current)}>
                <SettingsVersion instance={i} newest={processingVersion} />
              </td>
              <td className="num">{formatCount(i.partitions)}</td>
              <td className="num">{formatRate(i.rate_per_s)}</td>
              <td className={`num${i.errors > 0 ? " text-bad" : ""}`}>{formatCount(i.errors)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Readiness({ instance: i }: { instance: InstanceState }) {
  if (!i.ready) {
    return (
      <>
        <span className="badge badge-warn">not ready</span>
        {i.readiness_note ? <div className="muted small">{i.readiness_note}</div> : null}
      </>
    );
  }
  // Ready with a note: an older agent that does not report readiness, counted as ready.
  return i.readiness_note ? (
    <span className="muted" title={i.readiness_note}>
      not reported
    </span>
  ) : (
    <span className="badge badge-ok">ready</span>
  );
}

function SettingsVersion({ instance: i, newest }: { instance: InstanceState; newest: number }) {
  const refused = i.processing_refused ? (
    <div className="text-bad small" data-testid="instance-refusal">
      refused v{newest}: {i.processing_refused}
    </div>
  ) : null;
  if (i.processing_version === null) {
    return (
      <>
        <span className="muted" title="The agent reports no settings version: it runs its own configuration.">
          not reported
        </span>
        {refused}
      </>
    );
  }
  return (
    <>
      v{i.processing_version}
      {i.processing_current === false ? <span className="badge badge-warn"> behind (v{newest})</span> : null}
      {refused}
    </>
  );
}
