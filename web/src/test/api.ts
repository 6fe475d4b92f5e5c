/**
 * Test doubles for the two browser APIs the dashboard talks through: fetch (routed by
 * method and path) and EventSource (driven by the test). Unit tests only.
 */
import { vi } from "vitest";

export interface Call {
  method: string;
  path: string;
  body: unknown;
  headers: Record<string, string>;
}

type Handler = (call: Call) => { status?: number; body?: unknown } | Promise<{ status?: number; body?: unknown }>;

/** A route answer with a status other than 200. */
export function reply(status: number, body?: unknown): Handler {
  return () => ({ status, body });
}

/** The stream-tickets route: a new ticket per request (`tst_1`, `tst_2`, ...), as the
 *  control plane gives one per connection. */
export function streamTickets(): Handler {
  let issued = 0;
  return () => {
    issued += 1;
    return { status: 201, body: { ticket: `tst_${issued}`, expires_in_s: 30, events_url: "" } };
  };
}

export function mockApi(routes: Record<string, Handler | unknown>) {
  const calls: Call[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), "http://localhost");
    const method = (init?.method ?? "GET").toUpperCase();
    const path = url.pathname.replace(/^\/api\/v1/, "") + url.search;
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    const call = { method, path, body, headers: (init?.headers ?? {}) as Record<string, string> };
    calls.push(call);
    const key = Object.keys(routes).find((k) => {
      const [m, p] = k.split(" ");
      return m === method && (p === path || p === url.pathname.replace(/^\/api\/v1/, ""));
    });
    if (!key) return new Response(JSON.stringify({ detail: `no mock for ${method} ${path}` }), { status: 404 });
    const route = routes[key];
    const result = typeof route === "function" ? await (route as Handler)(call) : { body: route };
    return new Response(result.body === undefined ? "" : JSON.stringify(result.body), { status: result.status ?? 200 });
  });
  vi.stubGlobal("fetch", fetchMock);
  return { calls, fetchMock };
}

export class FakeEventSource {
  static instances: FakeEventSource[] = [];
  readyState = 0;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  private listeners = new Map<string, ((e: MessageEvent<string>) => void)[]>();
  closed = false;

  constructor(readonly url: string) {
    FakeEventSource.instances.push(this);
  }

  addEventListener(type: string, fn: (e: MessageEvent<string>) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }

  emit(type: string, data: unknown) {
    this.readyState = 1;
    for (const fn of this.listeners.get(type) ?? []) fn(new MessageEvent(type, { data: JSON.stringify(data) }));
  }

  fail(closed: boolean) {
    this.readyState = closed ? 2 : 0;
    this.onerror?.();
  }

  close() {
    this.closed = true;
    this.readyState = 2;
  }

  static install() {
    FakeEventSource.instances = [];
    vi.stubGlobal("EventSource", FakeEventSource);
  }

  static latest(): FakeEventSource {
    const last = FakeEventSource.instances.at(-1);
    if (!last) throw new Error("no EventSource was opened");
    return last;
  }
}
