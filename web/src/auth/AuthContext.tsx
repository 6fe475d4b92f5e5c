/**
 * Who is logged in.
 *
 * States: `checking` (a stored token is being verified with /whoami) → `signed_in`
 * (token and identity known) or `signed_out` (no token, or it was rejected, with the
 * reason in `notice`). Any 401 from any request signs out with that reason.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { ApiClient, ApiError, explainError } from "../api/client";
import type { Role, Whoami } from "../api/types";
import { hasRole } from "./roles";
import { clearToken, loadToken, saveToken } from "./session";

export type AuthStatus = "checking" | "signed_in" | "signed_out";

export interface AuthValue {
  status: AuthStatus;
  identity: Whoami | null;
  client: ApiClient | null;
  notice: string | null;
  login: (token: string) => Promise<void>;
  logout: (notice?: string) => void;
  can: (needed: Role) => boolean;
  /** Call with any request error: a 401 signs out. Returns a human explanation. */
  handleError: (err: unknown) => string;
}

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children, initialToken }: { children: ReactNode; initialToken?: string | null }) {
  const [token, setToken] = useState<string | null>(() => initialToken ?? loadToken());
  const [identity, setIdentity] = useState<Whoami | null>(null);
  const [status, setStatus] = useState<AuthStatus>(token ? "checking" : "signed_out");
  const [notice, setNotice] = useState<string | null>(null);

  const logout = useCallback((why?: string) => {
    clearToken();
    setToken(null);
    setIdentity(null);
    setStatus("signed_out");
    setNotice(why ?? null);
  }, []);

  // Verify a token restored from the session once, at start.
  useEffect(() => {
    if (!token || identity) return;
    const controller = new AbortController();
    new ApiClient(token)
      .whoami(controller.signal)
      .then((who) => {
        setIdentity(who);
        setStatus("signed_in");
      })
      .catch((err: unknown) => {
        if (controller.signal.aborted) return;
        logout(explainError(err));
      });
    return () => controller.abort();
  }, [token, identity, logout]);

  const login = useCallback(async (candidate: string) => {
    const trimmed = candidate.trim();
    const who = await new ApiClient(trimmed).whoami();
    saveToken(trimmed);
    setToken(trimmed);
    setIdentity(who);
    setStatus("signed_in");
    setNotice(null);
  }, []);

  const client = useMemo(() => (token ? new ApiClient(token) : null), [token]);

  const handleError = useCallback(
    (err: unknown) => {
      const text = explainError(err);
      if (err instanceof ApiError && err.status === 401) logout(text);
      return text;
    },
    [logout],
  );

  const value = useMemo<AuthValue>(
    () => ({
      status,
      identity,
      client,
      notice,
      login,
      logout,
      can: (needed: Role) => hasRole(identity?.role, needed),
      handleError,
    }),
    [status, identity, client, notice, login, logout, handleError],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth outside AuthProvider");
  return value;
}

/** The API client of a signed-in session (pages render only when signed in). */
export function useClient(): ApiClient {
  const { client } = useAuth();
  if (!client) throw new Error("useClient while signed out");
  return client;
}
