/**
 * The token lives in sessionStorage: it survives a reload of the tab but not closing it,
 * and is never shared with other tabs or written to disk by us.
 */
const TOKEN_KEY = "turnout.token";

export function loadToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function saveToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken(): void {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled: nothing was stored, so nothing to clear.
  }
}
