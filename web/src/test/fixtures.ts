import type { Deployment, DeploymentState, InstanceState, PartitionState, ProcessingSettings, Switch } from "../api/types";

export function partition(n: number, owner: string | null, colour: "blue" | "green" | null, lag = 0): PartitionState {
  return {
    binding: "live",
    topic: "payments",
    partition: n,
    owner_instance: owner,
    owner_colour: colour,
    owner_epoch: owner ? 7 : null,
    committed_offset: 100 + n,
    end_offset: 100 + n + lag,
    lag,
  };
}

export function makeProcessing(over: Partial<ProcessingSettings> = {}): ProcessingSettings {
  return {
    version: 2,
    ordering: "partition",
    workers: 8,
    max_in_flight_records: 40000,
    max_in_flight_bytes: 268435456,
    max_in_flight_per_partition: 10000,
    retries: { max_retries: 3, backoff_ms: 500, multiplier: 2, max_backoff_ms: 30000, jitter_ms: 100, attempt_timeout_ms: 60000 },
    on_exhausted: null,
    escalation: { threshold: 100, window_ms: 60000, action: "pause", breaker_cooldown_ms: 30000 },
    dead_letters: {
      enabled: false,
      topic: "{topic}.dlq",
      create_topic: true,
      max_ratio: 0.1,
      ratio_window_ms: 60000,
      min_samples: 100,
      max_consecutive: 50,
    },
    commit_interval_ms: 1000,
    commit_every: 20000,
    ...over,
  };
}

export function instance(name: string, colour: "blue" | "green", over: Partial<InstanceState> = {}): InstanceState {
  return {
    instance: name,
    colour,
    version: colour === "blue" ? "1.4.0" : "1.5.0",
    host: "h1",
    pid: 11,
    epoch: 7,
    state: "running",
    partitions: 0,
    fenced: false,
    rate_per_s: 0,
    errors: 0,
    processing_version: 2,
    processing_current: true,
    processing_refused: null,
    ready: true,
    readiness_note: null,
    ...over,
  };
}

export function makeDeployment(over: Partial<Deployment> = {}): Deployment {
  return {
    name: "billing",
    cluster: "local",
    live: { group: "billing", topics: ["payments"] },
    preview: null,
    strategy: "range",
    processing: makeProcessing(),
    drain_timeout_ms: 10000,
    absent_pin_policy: "leave_unowned",
    colours: { blue: { version: "1.4.0", role: "live" }, green: { version: "1.5.0", role: "standby" } },
    active_colour: "blue",
    pins: {},
    paused: false,
    epoch: 7,
    last_switch: null,
    created_at: "2026-11-24T10:00:00Z",
    updated_at: "2026-11-24T10:00:00Z",
    version: 3,
    ...over,
  };
}

/** A mirror deployment named ``name`` copying ``topic`` from cluster local to dr (prefix naming). */
export function makeMirror(name: string, topic: string, over: Partial<Deployment> = {}): Deployment {
  return makeDeployment({
    name,
    cluster: "local",
    live: { group: name, topics: [topic] },
    mirror: {
      target_cluster: "dr",
      source_alias: "local",
      naming: "prefix",
      prefix: null,
      template: null,
      coordinate_headers: true,
      target_topics: { [topic]: `local.${topic}` },
    },
    ...over,
  });
}

export function makeState(over: Partial<DeploymentState> = {}): DeploymentState {
  return {
    deployment: "billing",
    epoch: 7,
    active_colour: "blue",
    paused: false,
    zookeeper: "ok",
    instances: [
      instance("billing-blue-0", "blue", { host: "h1", pid: 11, partitions: 2, rate_per_s: 50 }),
      instance("billing-blue-1", "blue", { host: "h2", pid: 12, partitions: 2, rate_per_s: 48.5, errors: 1 }),
      instance("billing-green-0", "green", { host: "h3", pid: 13 }),
    ],
    partitions: [
      partition(0, "billing-blue-0", "blue", 3),
      partition(1, "billing-blue-0", "blue", 0),
      partition(2, "billing-blue-1", "blue", 5),
      partition(3, "billing-blue-1", "blue", 2),
    ],
    lag_total: 10,
    lag_status: "OK",
    processing_version: 2,
    readiness: {
      blue: { ready: true, instances: 2, ready_instances: 2, refusal: null },
      green: { ready: true, instances: 1, ready_instances: 1, refusal: null },
    },
    ...over,
  };
}

export function makeSwitch(over: Partial<Switch> = {}): Switch {
  return {
    id: "0b6f0000-aaaa-bbbb-cccc-000000000001",
    deployment: "billing",
    kind: "switch",
    from_colour: "blue",
    to_colour: "green",
    epoch: 8,
    state: "releasing",
    reason: null,
    requested_by: "alice",
    requested_at: "2026-11-24T10:00:00.000Z",
    finished_at: null,
    phases: [
      { name: "requested", started_at: "2026-11-24T10:00:00.000Z", ended_at: "2026-11-24T10:00:00.003Z", duration_ms: 3 },
      { name: "directive_written", started_at: "2026-11-24T10:00:00.003Z", ended_at: "2026-11-24T10:00:00.015Z", duration_ms: 12 },
      { name: "released", started_at: "2026-11-24T10:00:00.015Z", ended_at: null, duration_ms: null },
      { name: "claimed", started_at: null, ended_at: null, duration_ms: null },
    ],
    ...over,
  };
}
