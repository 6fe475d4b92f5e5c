import { useEffect, useId, useState, type FormEvent } from "react";
import { useClient } from "../auth/AuthContext";
import { Pager } from "../components/Pager";
import { EmptyState, ErrorState, Loading } from "../components/States";
import { useAsync } from "../hooks/useAsync";
import { useFilters } from "../hooks/useFilters";
import { formatTime } from "../lib/format";

const PAGE = 50;
const KEYS = ["deployment", "actor", "action"] as const;

export function AuditPage() {
  const client = useClient();
  const { values, offset, apply, setOffset } = useFilters(KEYS);
  const [draft, setDraft] = useState(values);
  const ids = { deployment: useId(), actor: useId(), action: useId() };
  useEffect(() => setDraft(values), [values.deployment, values.actor, values.action]);

  const result = useAsync(
    (signal) => client.audit({ ...values, limit: String(PAGE), offset: String(offset) }, signal),
    [client, values.deployment, values.actor, values.action, offset],
  );
  const filtered = Boolean(values.deployment || values.actor || values.action);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    apply(draft);
  };

  return (
    <>
      <div className="page-head">
        <h1>Audit log</h1>
      </div>
      <form className="filters inline-form" onSubmit={submit} aria-label="Filter the audit log">
        <label htmlFor={ids.deployment}>Deployment</label>
        <input id={ids.deployment} value={draft.deployment} onChange={(e) => setDraft({ ...draft, deployment: e.target.value })} />
        <label htmlFor={ids.actor}>Actor</label>
        <input id={ids.actor} value={draft.actor} onChange={(e) => setDraft({ ...draft, actor: e.target.value })} />
        <label htmlFor={ids.action}>Action</label>
        <input id={ids.action} value={draft.action} placeholder="e.g. switch" onChange={(e) => setDraft({ ...draft, action: e.target.value })} />
        <button type="submit" className="primary">
          Filter
        </button>
        <button type="button" onClick={() => apply({ deployment: "", actor: "", action: "" })}>
          Clear
        </button>
      </form>
      {result.status === "error" ? <ErrorState title="The audit log could not be read." message={result.error} onRetry={result.reload} /> : null}
      {result.status === "loading" && !result.data ? <Loading what="the audit log" /> : null}
      {result.data && result.data.data.length === 0 ? (
        <EmptyState title={filtered ? "No audit entry matches these filters." : "The audit log is empty: nothing has been changed yet."} />
      ) : null}
      {result.data && result.data.data.length > 0 ? (
        <>
          <div className="table-scroll">
            <table data-testid="audit-table">
              <thead>
                <tr>
                  <th scope="col">At</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Deployment</th>
                  <th scope="col">Detail</th>
                </tr>
              </thead>
              <tbody>
                {result.data.data.map((entry) => (
                  <tr key={entry.id} data-testid="audit-row">
                    <td>{formatTime(entry.at)}</td>
                    <td>{entry.actor}</td>
                    <td>{entry.action}</td>
                    <td>{entry.deployment ?? "—"}</td>
                    <td>
                      <AuditDetail detail={entry.detail} />
                    </td>
                  </tr>
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

function AuditDetail({ detail }: { detail: unknown }) {
  if (detail === null || detail === undefined) return <span className="muted">—</span>;
  const text = JSON.stringify(detail, null, 2);
  const short = JSON.stringify(detail);
  if (short.length <= 80) return <code>{short}</code>;
  return (
    <details>
      <summary>
        <code>{short.slice(0, 77)}…</code>
      </summary>
      <pre>{text}</pre>
    </details>
  );
}
