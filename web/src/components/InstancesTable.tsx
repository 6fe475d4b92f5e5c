import type { InstanceState } from "../api/types";
import { formatCount, formatRate } from "../lib/format";
import { ColourTag } from "./ColourTag";
import { EmptyState } from "./States";

export function InstancesTable({ instances, epoch }: { instances: readonly InstanceState[]; epoch: number }) {
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
            <th scope="col">Colour</th>
            <th scope="col">Version</th>
            <th scope="col">Host</th>
            <th scope="col">State</th>
            <th scope="col">Epoch acknowledged</th>
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
              <th scope="row">{i.instance}</th>
              <td>
                <ColourTag colour={i.colour} />
              </td>
              <td>{i.version}</td>
              <td>
                {i.host} <span className="muted">pid {i.pid}</span>
              </td>
              <td>
                {i.state}
                {i.fenced ? <span className="badge badge-bad"> fenced</span> : null}
              </td>
              <td>
                {i.epoch ?? "none yet"}
                {i.epoch !== null && i.epoch < epoch ? <span className="badge badge-warn"> behind ({epoch})</span> : null}
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
