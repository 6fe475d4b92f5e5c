import { NavLink, Outlet, useLocation } from "react-router-dom";
import { ErrorBoundary } from "../components/ErrorBoundary";
import { useAuth } from "../auth/AuthContext";
import { describeScope, manageTokens } from "../auth/roles";

export function Layout() {
  const { identity, logout } = useAuth();
  const location = useLocation();
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Turnout</span>
        <nav aria-label="Main">
          <NavLink to="/" end>
            Deployments
          </NavLink>
          <NavLink to="/switches">Switch history</NavLink>
          <NavLink to="/audit">Audit log</NavLink>
          {manageTokens(identity) ? <NavLink to="/tokens">Tokens</NavLink> : null}
        </nav>
        <span className="who" data-testid="whoami">
          {identity?.name} · <span className={`role role-${identity?.role}`}>{identity?.role}</span>
          {identity?.scope ? <span className="muted small"> · {describeScope(identity.scope)}</span> : null}
        </span>
        <button type="button" onClick={() => logout()}>
          Log out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <ErrorBoundary resetKey={location.pathname}>
          <Outlet />
        </ErrorBoundary>
      </main>
    </div>
  );
}
