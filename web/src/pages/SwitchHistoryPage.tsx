import { Fragment, useEffect, useId, useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import { SWITCH_STATES } from "../api/types";
import { useClient } from "../auth/AuthContext";
import { Pager } from "../components/Pager";
import { EmptyState, ErrorState, Loading } from "../components/States";
import { SwitchTimeline } from "../components/SwitchTimeline";
import { useAsync } from "../hooks/useAsync";
import { useFilters } from "../hooks/useFilters";
import { formatDuration, formatTime } from "../lib/format";
import { totalDurationMs } from "../lib/switchTimeline";

const PAGE = 50;
const KEYS = ["deployment", "state"] as const;

export function SwitchHistoryPage() {
  const client = useClient();
  const { values, offset, apply, setOffset } = useFilters(KEYS);
  const [draft, setDraft] = useState(values);
  const [open, setOpen] = useState<string | null>(null);
  const ids = { deployment: useId(), state: useId() };
  useEffect(() => setDraft(values), [values.deployment, values.state]);

  const result = useAsync(
    (signal) => client.switches({ ...values, limit: String(PAGE), offset: String(offset) }, signal),
    [client, values.deployment, values.state, offset],
  );

  const submit = (event: FormEvent) => {
    event.preventDefault();
    apply(draft);
  };

  return (
    <>
      <div className="page-head">
        <h1>Switch history</h1>
      </div>
      <form className="filters inline-form" onSubmit={submit} aria-label="Filter switches">
        <label htmlFor={ids.deployment}>Deployment</label>
        <input id={ids.deployment} value={draft.deployment} onChange={(e) => setDraft({ ...draft, deployment: e.target.value })} />
        <label htmlFor={ids.state}>State</label>
        <select id={ids.state} value={draft.state} onChange={(e) => setDraft({ ...draft, state: e.target.value })}>
          <option value="">any</option>
          {SWITCH_STATES.map((s) => (
            <option key={s} value={s}>
              {s.replace("_", " ")}
            </option>
          ))}
        </select>
        <button type="submit" className="primary">
          Filter
        </button>
        <button type="button" onClick={() => apply({ deployment: "", state: "" })}>
          Clear
        </button>
      </form>
      {result.status === "error" ? <ErrorState title="Switches could not be listed." message={result.error} onRetry={result.reload} /> : null}
      {result.status === "loading" && !result.data ? <Loading what="switches" /> : null}
      {result.data && result.data.data.length === 0 ? (
        <EmptyState title={values.deployment || values.state ? "No switch matches these filters." : "No switch has run yet."} />
      ) : null}
      {result.data && result.data.data.length > 0 ? (
        <>
          <div className="table-scroll">
            <table data-testid="switches-table">
              <thead>
                <tr>
                  <th scope="col">Requested</th>
                  <th scope="col">Deployment</th>
                  <th scope="col">Kind</th>
                  <th scope="col">From → to</th>
                  <th scope="col">State</th>
                  <th scope="col">By</th>
                  <th scope="col" className="num">Took</th>
                  <th scope="col">Phases</th>
                </tr>
              </thead>
              <tbody>
                {result.data.data.map((sw) => (
                  <Fragment key={sw.id}>
                    <tr data-testid="switch-row">
                      <td>{formatTime(sw.requested_at)}</td>
                      <td>
                        <Link to={`/deployments/${encodeURIComponent(sw.deployment)}`}>{sw.deployment}</Link>
                      </td>
                      <td>{sw.kind}</td>
                      <td>
                        {sw.from_colour} → {sw.to_colour}
                      </td>
                      <td className={sw.state === "failed" || sw.state === "timed_out" ? "text-bad" : undefined}>
                        {sw.state.replace("_", " ")}
                        {sw.reason ? <div className="small">{sw.reason}</div> : null}
                      </td>
                      <td>{sw.requested_by}</td>
                      <td className="num">{sw.finished_at ? formatDuration(totalDurationMs(sw)) : "running"}</td>
                      <td>
                        <button
                          type="button"
                          className="link"
                          aria-expanded={open === sw.id}
                          onClick={() => setOpen(open === sw.id ? null : sw.id)}
                        >
                          {open === sw.id ? "Hide" : "Show"}
                        </button>
                      </td>
                    </tr>
                    {open === sw.id ? (
                      <tr>
                        <td colSpan={8}>
                          <SwitchTimeline sw={sw} />
                        </td>
                      </tr>
                    ) : null}
                  </Fragment>
                ))}
              </tbody>
            </table>
          </div>
          <Pager offset={offset} limit={PAGE} count={result.data.count} onOffset={setOffset} />
        </>
      ) : null}
    </>
  );
}
