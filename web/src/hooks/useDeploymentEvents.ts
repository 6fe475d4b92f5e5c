/**
 * Live state of one deployment from the control plane's server-sent events.
 *
 * No polling: the browser holds one EventSource per open deployment page.
 * Connection states: `connecting` → `open` on the first message or open event;
 * `open` → `reconnecting` on an error while EventSource retries by itself;
 * any → `closed` when EventSource gives up (the server refused the stream, e.g. 401/403,
 * or answered with something that is not an event stream). From `closed` only the
 * user's `reconnect()` opens a new stream; the page then shows the stored reason.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import type { DeploymentState, Switch } from "../api/types";

export type LiveStatus = "connecting" | "open" | "reconnecting" | "closed";

export interface DeploymentEvents {
  state: DeploymentState | null;
  lastSwitch: Switch | null;
  status: LiveStatus;
  receivedAt: Date | null;
  reconnect: () => void;
}

type EventSourceFactory = (url: string) => EventSource;

/** EventSource.CLOSED, spelt out so the hook does not need the global at import time. */
const EVENT_SOURCE_CLOSED = 2;

const defaultFactory: EventSourceFactory = (url) => new EventSource(url);

export function useDeploymentEvents(
  url: string | null,
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
    if (!url) return;
    setStatus("connecting");
    const source = factory(url);
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
    source.addEventListener("state", onState as EventListener);
    source.addEventListener("switch", onSwitchEvent as EventListener);
    source.onopen = () => setStatus("open");
    source.onerror = () => {
      setStatus(source.readyState === EVENT_SOURCE_CLOSED ? "closed" : "reconnecting");
    };
    return () => source.close();
  }, [url, attempt, factory]);

  const reconnect = useCallback(() => setAttempt((n) => n + 1), []);
  return { state, lastSwitch, status, receivedAt, reconnect };
}
