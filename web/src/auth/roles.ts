/**
 * Role ranks (docs/api.md "Auth"): each role includes the one before it.
 * The dashboard hides controls a role cannot use; the API enforces the same rule.
 */
import type { Role, TokenScope, Whoami } from "../api/types";

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && value in RANK;
}

/** True when `role` may do what `needed` may do. Unknown roles may do nothing. */
export function hasRole(role: Role | string | null | undefined, needed: Role): boolean {
  if (!isRole(role)) return false;
  return RANK[role] >= RANK[needed];
}

/** Tokens are managed by unscoped admins only (a scoped admin gets 403 from /tokens). */
export function manageTokens(identity: Whoami | null | undefined): boolean {
  return hasRole(identity?.role, "admin") && !identity?.scope;
}

/** "all deployments", or e.g. "team payments, ledger-*". */
export function describeScope(scope: TokenScope | null | undefined): string {
  if (!scope) return "all deployments";
  return [...scope.teams.map((t) => `team ${t}`), ...scope.patterns].join(", ");
}
