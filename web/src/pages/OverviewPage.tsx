/**
 * Every deployment at a glance. The list and each deployment's live state are read when
 * the page opens, every AUTO_REFRESH_MS while the tab is visible, and on "Refresh".
 * Polling rather than one event stream per deployment: those would exhaust the
 * browser's six connections per host; the deployment page streams.
 */
import { useEffect } from "react";
import { Link } from "react-router-dom";
import type { Colour, Deployment, DeploymentState } from "../api/types";
import { COLOURS } from "../api/types";
import { explainError } from "../api/client";
import { useClient } from "../auth/AuthContext";
import { RequireRole } from "../auth/RequireRole";
import { ColourTag } from "../components/ColourTag";
import { LagStatusBadge } from "../components/LagStatusBadge";
import { EmptyState, ErrorState, Loading } from "../components/States";
import { useAsync } from "../hooks/useAsync";
import { describeTopics } from "../lib/bindingTopics";
import { formatAgo, formatCount, formatTime } from "../lib/format";

/** How often the overview re-reads while visible: lag and instances move by the second,
 * and one list plus one state read per deployment is cheap for the control plane. */
export const AUTO_REFRESH_MS = 5000;

interface Row {
  deployment: Deployment;
  state: DeploymentState | null;
  stateError: string | null;
}

export function OverviewPage() {
  const client = useClient();
  const result = useAsync(async (signal): Promise<{ rows: Row[]; at: Date }> => {
    const page = await client.deployments(signal);
    const states = await Promise.allSettled(page.data.map((d) => client.state(d.name, signal)));
    const rows = page.data.map((deployment, i) => {
      const s = states[i]!;
      return s.status === "fulfilled"
        ? { deployment, state: s.value, stateError: null }
        : { deployment, state: null, stateError: explainError(s.reason) };
    });
    return { rows, at: new Date() };
  }, [client]);
  const { reload } = result;
  useEffect(() => {
    const timer = window.setInterval(() => {
      if (document.visibilityState === "visible") reload();
    }, AUTO_REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [reload]);

  return (
    <>
      <div className="page-head">
        <h1>Deployments</h1>
        <div className="actions">
          {result.data ? <span className="muted">as of {formatTime(result.data.at.toISOString())}</span> : null}
          <button type="button" onClick={result.reload} disabled={result.status === "loading"}>
            Refresh
          </button>
          <RequireRole min="admin">
            <Link to="/deployments/new" className="button-link">
              New deployment
            </Link>
          </RequireRole>
        </div>
      </div>
      {result.status === "error" ? (
        <ErrorState title="The deployments could not be listed." message={result.error} onRetry={result.reload} />
      ) : null}
      {result.status === "loading" && !result.data ? <Loading what="deployments" /> : null}
      {result.data && result.data.rows.length === 0 ? (
        <EmptyState title="No deployments yet.">
          An admin creates one with <em>New deployment</em>, <code>turnout deployments create</code> or{" "}
          <code>POST /api/v1/deployments</code>; it appears here with its colours and lag.
        </EmptyState>
      ) : null}
      {result.data && result.data.rows.length > 0 ? <OverviewTable rows={result.data.rows} /> : null}
    </>
  );
}

function countByColour(state: DeploymentState | null, colour: Colour): number | null {
  return state ? state.instances.filter((i) => i.colour === colour).length : null;
}

function OverviewTable({ rows }: { rows: Row[] }) {
  return (
    <div className="table-scroll">
      {/* Fits a 1280-px window: long names and topics may break anywhere, headers wrap. */}
      <table data-testid="deployments-table" className="overview-table">
        <thead>
          <tr>
            <th scope="col">Deployment</th>
            <th scope="col">Live colour</th>
            {COLOURS.map((c) => (
              <th scope="col" key={c}>
                {c}: version · instances
              </th>
            ))}
            <th scope="col" className="num">
              Total lag
            </th>
            <th scope="col">Lag status</th>
            <th scope="col">Last switch</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ deployment: d, state, stateError }) => (
            <tr key={d.name} data-testid="deployment-row" data-deployment={d.name}>
              <th scope="row" className="identifier">
                <Link to={`/deployments/${encodeURIComponent(d.name)}`}>{d.name}</Link>
                <div className="muted small">
                  {describeTopics(d.live, d.mirror)} · {d.cluster}
                  {d.team ? (
                    <>
                      {" "}
                      <span className="badge" data-testid="team">
                        team {d.team}
                      </span>
                    </>
                  ) : null}
                  {(state?.paused ?? d.paused) ? <span className="badge badge-warn"> paused</span> : null}
                  {d.mirror ? (
                    <span className="badge badge-neutral" data-testid="mirror-badge">
                      mirror → {d.mirror.target_cluster}
                    </span>
                  ) : null}
                </div>
              </th>
              <td>
                <ColourTag colour={state?.active_colour ?? d.active_colour} />
              </td>
              {COLOURS.map((c) => {
                const n = countByColour(state, c);
                return (
                  <td key={c}>
                    {d.colours[c]?.version ?? "—"} · {n === null ? "?" : `${n} instance${n === 1 ? "" : "s"}`}
                    {n === 0 && (state?.active_colour ?? d.active_colour) === c ? (
                      <span className="badge badge-bad"> none running</span>
                    ) : null}
                  </td>
                );
              })}
              {stateError ? (
                <td colSpan={2} className="text-bad">
                  {stateError}
                </td>
              ) : state && state.zookeeper !== "ok" ? (
                <td colSpan={2} className="text-bad">
                  ZooKeeper {state.zookeeper}
                </td>
              ) : (
                <>
                  <td className="num">{formatCount(state?.lag_total)}</td>
                  <td>
                    <LagStatusBadge status={state?.lag_status} />
                  </td>
                </>
              )}
              <td>
                {d.last_switch ? (
                  <>
                    {d.last_switch.from_colour} → {d.last_switch.to_colour}: {d.last_switch.state.replace("_", " ")}{" "}
                    <span className="muted" title={formatTime(d.last_switch.requested_at)}>
                      {formatAgo(d.last_switch.requested_at)}
                    </span>
                  </>
                ) : (
                  <span className="muted">never</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
