import { useAuth, useClient } from "../auth/AuthContext";
import { describeScope, manageTokens } from "../auth/roles";
import { EmptyState, ErrorState, Loading } from "../components/States";
import { useAsync } from "../hooks/useAsync";
import { formatAgo, formatTime } from "../lib/format";

/**
 * API tokens (names, roles, scopes, expiry and last use; never secrets). Read-only: tokens
 * are created, rotated and revoked with `turnout token` or the REST API (docs/security.md).
 */
export function TokensPage() {
  const client = useClient();
  const { identity } = useAuth();
  const allowed = manageTokens(identity);
  const result = useAsync((signal) => (allowed ? client.tokens(signal) : Promise.resolve(null)), [client, allowed]);

  if (!allowed) {
    return <EmptyState title="Tokens are managed with an unscoped admin token." />;
  }
  return (
    <>
      <div className="page-head">
        <h1>Tokens</h1>
      </div>
      <p className="muted">
        Create, rotate and revoke with <code>turnout token create|rotate|revoke</code>; a rotated token's old secret keeps working until
        the time shown.
      </p>
      {result.status === "error" ? <ErrorState title="The tokens could not be read." message={result.error} onRetry={result.reload} /> : null}
      {result.status === "loading" && !result.data ? <Loading what="the tokens" /> : null}
      {result.data && result.data.data.length === 0 ? <EmptyState title="No tokens." /> : null}
      {result.data && result.data.data.length > 0 ? (
        <div className="table-scroll">
          <table data-testid="tokens-table">
            <thead>
              <tr>
                <th scope="col">Token</th>
                <th scope="col">Role</th>
                <th scope="col">Scope</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">Old secret until</th>
              </tr>
            </thead>
            <tbody>
              {result.data.data.map((token) => (
                <tr key={token.name} data-testid="token-row" data-token={token.name}>
                  <th scope="row" className="identifier">
                    {token.name}
                  </th>
                  <td>
                    <span className={`role role-${token.role}`}>{token.role}</span>
                  </td>
                  <td>{describeScope(token.scope)}</td>
                  <td data-testid="token-expires">{token.expires_at ? formatTime(token.expires_at) : "never"}</td>
                  <td data-testid="token-last-used">{token.last_used_at ? formatAgo(token.last_used_at) : "never"}</td>
                  <td>{token.previous_valid_until ? formatTime(token.previous_valid_until) : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}
