import { useId, useState, type FormEvent } from "react";
import { explainError } from "../api/client";
import { useAuth } from "../auth/AuthContext";

export function LoginPage() {
  const { login, notice } = useAuth();
  const [token, setToken] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const tokenId = useId();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!token.trim()) {
      setError("Enter a token.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await login(token);
    } catch (err) {
      setError(explainError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <h1>Turnout</h1>
      <p className="muted">Blue/green consumer orchestration for Kafka</p>
      <form onSubmit={submit} aria-label="Log in">
        <label htmlFor={tokenId}>API token</label>
        <input
          id={tokenId}
          type="password"
          autoComplete="current-password"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          autoFocus
        />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Checking…" : "Log in"}
        </button>
        <p className="muted small">
          Kept for this browser tab only (session storage). An admin issues tokens with <code>POST /api/v1/tokens</code>.
        </p>
        {error || notice ? (
          <p className="state state-error" role="alert">
            {error ?? notice}
          </p>
        ) : null}
      </form>
    </main>
  );
}
