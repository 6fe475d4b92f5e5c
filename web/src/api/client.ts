/**
 * Thin typed wrapper over fetch for /api/v1.
 *
 * Every failure becomes an ApiError carrying the HTTP status and the API's `detail`
 * (docs/api.md: errors are `{"detail": ...}`), so pages can say *why* something failed
 * instead of rendering blank. Status 0 means the control plane could not be reached.
 */
import type {
  ApiToken,
  AuditEntry,
  Cluster,
  Colour,
  ColourChange,
  Deployment,
  DeploymentCreate,
  DeploymentState,
  LagHistory,
  ListPage,
  OffsetResetPlan,
  OffsetResetRequest,
  PinPlan,
  PinRequest,
  StreamTicket,
  Switch,
  Whoami,
} from "./types";

export const API_BASE = "/api/v1";

/** Requests never hang forever: the control plane answers or we say it did not. */
export const REQUEST_TIMEOUT_MS = 15_000;

const NO_WAIT: ReadinessGate = { force: false, waitReadyMs: 0 };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(status === 0 ? detail : `${status}: ${detail}`);
    this.name = "ApiError";
  }
}

function describeDetail(body: unknown, fallback: string): string {
  if (body && typeof body === "object" && "detail" in body) {
    const detail = (body as { detail: unknown }).detail;
    if (typeof detail === "string") return detail;
    // FastAPI validation errors: a list of {loc, msg}.
    if (Array.isArray(detail)) {
      return detail
        .map((item) => {
          if (item && typeof item === "object" && "msg" in item) {
            const loc = "loc" in item && Array.isArray(item.loc) ? item.loc.join(".") : "";
            return loc ? `${loc}: ${String(item.msg)}` : String(item.msg);
          }
          return JSON.stringify(item);
        })
        .join("; ");
    }
    return JSON.stringify(detail);
  }
  return fallback;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Replaces REQUEST_TIMEOUT_MS, for a request the server may hold (a readiness wait). */
  timeoutMs?: number;
}

/** The readiness gate of a switch or rollback (docs/api.md, "Readiness"). */
export interface ReadinessGate {
  force: boolean;
  waitReadyMs: number;
}

export class ApiClient {
  constructor(
    private readonly token: string,
    private readonly base: string = API_BASE,
  ) {}

  async request<T>(path: string, options: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = {
      Accept: "application/json",
      Authorization: `Bearer ${this.token}`,
      ...options.headers,
    };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    // One controller joins the caller's cancellation and our own deadline.
    const controller = new AbortController();
    let timedOut = false;
    const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const forward = () => controller.abort();
    options.signal?.addEventListener("abort", forward);
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.base + path, {
        method: options.method ?? "GET",
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: controller.signal,
      });
      text = await response.text();
    } catch (err) {
      if (options.signal?.aborted) throw err;
      const why = timedOut
        ? `no answer within ${timeoutMs / 1000} s`
        : String(err instanceof Error ? err.message : err);
      throw new ApiError(0, `The control plane could not be reached (${why}).`);
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", forward);
    }
    let body: unknown = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
    }
    if (!response.ok) {
      throw new ApiError(response.status, describeDetail(body, response.statusText || "request failed"));
    }
    return body as T;
  }

  whoami(signal?: AbortSignal): Promise<Whoami> {
    return this.request("/whoami", { signal });
  }

  tokens(signal?: AbortSignal): Promise<ListPage<ApiToken>> {
    return this.request("/tokens?limit=500", { signal });
  }

  deployments(signal?: AbortSignal): Promise<ListPage<Deployment>> {
    return this.request("/deployments?limit=500", { signal });
  }

  clusters(signal?: AbortSignal): Promise<ListPage<Cluster>> {
    return this.request("/clusters?limit=500", { signal });
  }

  createDeployment(body: DeploymentCreate): Promise<Deployment> {
    return this.request("/deployments", { method: "POST", body });
  }

  deployment(name: string, signal?: AbortSignal): Promise<Deployment> {
    return this.request(`/deployments/${enc(name)}`, { signal });
  }

  state(name: string, signal?: AbortSignal): Promise<DeploymentState> {
    return this.request(`/deployments/${enc(name)}/state`, { signal });
  }

  lag(name: string, windowS: number, signal?: AbortSignal): Promise<LagHistory> {
    return this.request(`/deployments/${enc(name)}/lag?window_s=${windowS}`, { signal });
  }

  deploymentSwitches(name: string, limit = 20, signal?: AbortSignal): Promise<ListPage<Switch>> {
    return this.request(`/deployments/${enc(name)}/switches?limit=${limit}`, { signal });
  }

  switches(query: Record<string, string>, signal?: AbortSignal): Promise<ListPage<Switch>> {
    return this.request(`/switches?${params(query)}`, { signal });
  }

  audit(query: Record<string, string>, signal?: AbortSignal): Promise<ListPage<AuditEntry>> {
    return this.request(`/audit?${params(query)}`, { signal });
  }

  startSwitch(name: string, to: string, timeoutS: number, idempotencyKey: string, gate: ReadinessGate = NO_WAIT): Promise<Switch> {
    return this.request(`/deployments/${enc(name)}/switch`, {
      method: "POST",
      body: { to, timeout_s: timeoutS, force: gate.force, wait_ready_ms: gate.waitReadyMs },
      headers: { "Idempotency-Key": idempotencyKey },
      timeoutMs: REQUEST_TIMEOUT_MS + gate.waitReadyMs,
    });
  }

  rollback(name: string, timeoutS: number, idempotencyKey: string, gate: ReadinessGate = NO_WAIT): Promise<Switch> {
    return this.request(`/deployments/${enc(name)}/rollback`, {
      method: "POST",
      body: { timeout_s: timeoutS, force: gate.force, wait_ready_ms: gate.waitReadyMs },
      headers: { "Idempotency-Key": idempotencyKey },
      timeoutMs: REQUEST_TIMEOUT_MS + gate.waitReadyMs,
    });
  }

  /** Change some processing settings (nested objects merge field by field); If-Match guards against a concurrent change. */
  changeProcessing(name: string, change: Record<string, unknown>, version: number): Promise<Deployment> {
    return this.request(`/deployments/${enc(name)}`, {
      method: "PATCH",
      body: { processing: change },
      headers: { "If-Match": `"${version}"` },
    });
  }

  /** Change one colour's version label or the mirror whose copies it consumes; If-Match guards against a concurrent change. */
  changeColour(name: string, colour: Colour, change: ColourChange, version: number): Promise<Deployment> {
    return this.request(`/deployments/${enc(name)}`, {
      method: "PATCH",
      body: { colours: { [colour]: change } },
      headers: { "If-Match": `"${version}"` },
    });
  }

  previewPins(name: string, body: PinRequest): Promise<PinPlan> {
    return this.request(`/deployments/${enc(name)}/pins/preview`, { method: "POST", body });
  }

  applyPins(name: string, body: PinRequest): Promise<Deployment> {
    return this.request(`/deployments/${enc(name)}/pins`, { method: "PUT", body });
  }

  pause(name: string): Promise<Deployment> {
    return this.request(`/deployments/${enc(name)}/pause`, { method: "POST" });
  }

  resume(name: string): Promise<Deployment> {
    return this.request(`/deployments/${enc(name)}/resume`, { method: "POST" });
  }

  resetOffsets(name: string, body: OffsetResetRequest): Promise<OffsetResetPlan> {
    return this.request(`/deployments/${enc(name)}/offsets/reset`, { method: "POST", body });
  }

  /**
   * URL for the deployment's server-sent events, carrying a fresh single-use stream ticket.
   * EventSource cannot send headers, and the token never goes in a URL (access logs keep
   * URLs); a ticket is worth nothing once the stream has opened, so every (re)connect
   * needs a new one.
   */
  async eventsUrl(name: string, signal?: AbortSignal): Promise<string> {
    const issued = await this.request<StreamTicket>(`/deployments/${enc(name)}/stream-tickets`, { method: "POST", signal });
    return `${this.base}/deployments/${enc(name)}/events?ticket=${encodeURIComponent(issued.ticket)}`;
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

function params(query: Record<string, string>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== "") search.set(key, value);
  }
  return search.toString();
}

/** One sentence for a failure, naming the cause the operator can act on. */
export function explainError(err: unknown): string {
  if (err instanceof ApiError) {
    switch (err.status) {
      case 0:
        return err.detail;
      case 401:
        return `Your token was not accepted (${err.detail}). Log in again.`;
      case 403:
        return `Your token does not have the rights for this (${err.detail}).`;
      case 404:
        return `Not found: ${err.detail}`;
      case 409:
        return `Conflict: ${err.detail}`;
      case 412:
        return `Someone else changed this in the meantime: ${err.detail}. Reload and retry.`;
      case 503:
        return `ZooKeeper is unreachable: ${err.detail}`;
      default:
        return `The control plane answered ${err.status}: ${err.detail}`;
    }
  }
  return err instanceof Error ? err.message : String(err);
}
