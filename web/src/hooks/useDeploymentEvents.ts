/**
 * Live state of one deployment from the control plane's server-sent events.
 *
 * No polling: the browser holds one EventSource per open deployment page. Every
 * connection opens with a fresh single-use stream ticket from `openUrl` (the token never
 * goes in a URL), so this hook reconnects, not EventSource: EventSource would retry with
 * the ticket the first connection already spent.
 *
 * Connection states:
 * - `connecting` → `open` on the open event or the first message;
 * - `connecting`/`open` → `reconnecting` when the stream drops: the hook closes it and,
 *   RECONNECT_DELAY_MS later, asks for a new ticket and opens a new stream; a ticket
 *   request that fails for want of an answer (network, 5xx) is retried the same way;
 * - any → `closed` when the server refused the stream (EventSource closed itself: 401,
 *   403, 404 or not an event stream) or refused the ticket (401, 403, 404). From `closed`
 *   only the user's `reconnect()` opens a new stream; the page then shows the reason.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError } from "../api/client";
import type { DeploymentState, Switch } from "../api/types";

export type LiveStatus = "connecting" | "open" | "reconnecting" | "closed";

export interface DeploymentEvents {
  state: DeploymentState | null;
  lastSwitch: Switch | null;
  status: LiveStatus;
  receivedAt: Date | null;
  reconnect: () => void;
}

/** Resolves to the stream's URL with a fresh ticket (ApiClient.eventsUrl). */
export type StreamUrl = (signal: AbortSignal) => Promise<string>;
type EventSourceFactory = (url: string) => EventSource;

/** Pause before a new ticket after a drop: quick enough to feel live, and a control
 *  plane that is down gets one ticket request a second per open page, not a storm. */
export const RECONNECT_DELAY_MS = 1_000;

/** EventSource.CLOSED, spelt out so the hook does not need the global at import time. */
const EVENT_SOURCE_CLOSED = 2;
/** Ticket refusals that another try would not change. */
const REFUSED = new Set([401, 403, 404]);

const defaultFactory: EventSourceFactory = (url) => new EventSource(url);

export function useDeploymentEvents(
  streamUrl: StreamUrl | null,
  onSwitch?: (sw: Switch) => void,
  factory: EventSourceFactory = defaultFactory,
): DeploymentEvents {
  const [state, setState] = useState<DeploymentState | null>(null);
  const [lastSwitch, setLastSwitch] = useState<Switch | null>(null);
  const [status, setStatus] = useState<LiveStatus>("connecting");
  const [receivedAt, setReceivedAt] = useState<Date | null>(null);
  const [attempt, setAttempt] = useState(0);
  // Read at event time so a new callback neither reopens the stream nor goes stale.
  const onSwitchRef = useRef(onSwitch);
  onSwitchRef.current = onSwitch;

  useEffect(() => {
    if (!streamUrl) return;
    const controller = new AbortController();
    let source: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;

    const onState = (event: MessageEvent<string>) => {
      try {
        setState(JSON.parse(event.data) as DeploymentState);
        setReceivedAt(new Date());
        setStatus("open");
      } catch {
        // A malformed event is the server's bug; keep the last good state on screen.
      }
    };
    const onSwitchEvent = (event: MessageEvent<string>) => {
      try {
        const sw = JSON.parse(event.data) as Switch;
        setLastSwitch(sw);
        onSwitchRef.current?.(sw);
      } catch {
        // As above: keep the last good switch.
      }
    };
    const reconnectLater = () => {
      setStatus("reconnecting");
      retry = setTimeout(() => void connect(), RECONNECT_DELAY_MS);
    };
    const connect = async () => {
      let url: string;
      try {
        url = await streamUrl(controller.signal);
      } catch (err) {
        if (controller.signal.aborted) return;
        if (err instanceof ApiError && REFUSED.has(err.status)) setStatus("closed");
        else reconnectLater();
        return;
      }
      if (controller.signal.aborted) return;
      const opened = factory(url);
      source = opened;
      opened.addEventListener("state", onState as EventListener);
      opened.addEventListener("switch", onSwitchEvent as EventListener);
      opened.onopen = () => setStatus("open");
      opened.onerror = () => {
        if (opened.readyState === EVENT_SOURCE_CLOSED) {
          setStatus("closed");
          return;
        }
        opened.close(); // before EventSource retries with the spent ticket
        reconnectLater();
      };
    };

    setStatus("connecting");
    void connect();
    return () => {
      controller.abort();
      clearTimeout(retry);
      source?.close();
    };
  }, [streamUrl, attempt, factory]);

  const reconnect = useCallback(() => setAttempt((n) => n + 1), []);
  return { state, lastSwitch, status, receivedAt, reconnect };
}
