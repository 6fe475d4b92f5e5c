/** Shapes of the control-plane REST API (docs/api.md is the contract). */

export type Colour = "blue" | "green";
export const COLOURS: readonly Colour[] = ["blue", "green"];

export type ColourRole = "live" | "preview" | "standby";
export type Role = "viewer" | "operator" | "admin";
export type LagStatus = "OK" | "WARN" | "STALL" | "STOP";
export type AbsentPinPolicy = "leave_unowned" | "fallback";

/** The deployments a token may see: names matching a pattern, or of a listed team (docs/api.md "Auth"). */
export interface TokenScope {
  patterns: string[];
  teams: string[];
}

export interface Whoami {
  name: string;
  role: Role;
  /** null: every deployment. */
  scope?: TokenScope | null;
}

/** GET /tokens items (never secrets). */
export interface ApiToken {
  name: string;
  role: Role;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  previous_valid_until: string | null;
  scope: TokenScope | null;
}

export interface ListPage<T> {
  data: T[];
  count: number;
}

export interface BindingSpec {
  group: string;
  topics: string[];
}

/** A PATCH of one colour: its version label, or the mirror whose copies it consumes (null: none). */
export interface ColourChange {
  version?: string;
  via_mirror?: string | null;
}

export interface ColourSpec {
  version: string;
  role: ColourRole;
  /** The cluster its agents run on (older control planes: absent, the deployment's). */
  cluster?: string;
  /** The mirror deployment whose copies it consumes (cluster migration); null: none. */
  via_mirror?: string | null;
}

/** The service also reports `directive_written` between `pending` and `releasing` (not yet in api.md). */
export type SwitchState = "pending" | "directive_written" | "releasing" | "claiming" | "completed" | "failed" | "timed_out";
export const SWITCH_STATES: readonly SwitchState[] = [
  "pending",
  "directive_written",
  "releasing",
  "claiming",
  "completed",
  "failed",
  "timed_out",
];
export type PhaseName = "requested" | "directive_written" | "released" | "claimed" | "completed";
export const PHASE_NAMES: readonly PhaseName[] = [
  "requested",
  "directive_written",
  "released",
  "claimed",
  "completed",
];

export interface SwitchPhase {
  name: PhaseName | string;
  started_at: string | null;
  ended_at: string | null;
  duration_ms: number | null;
}

export interface Switch {
  id: string;
  deployment: string;
  kind: "switch" | "rollback" | string;
  from_colour: Colour;
  to_colour: Colour;
  epoch: number;
  state: SwitchState;
  reason: string | null;
  requested_by: string;
  requested_at: string;
  finished_at: string | null;
  phases: SwitchPhase[];
}

export type Ordering = "partition" | "key" | "unordered";
export const ORDERINGS: readonly Ordering[] = ["partition", "key", "unordered"];
export const EXHAUSTED_DECISIONS = [
  "commit_and_continue",
  "do_not_commit_and_continue",
  "commit_and_stop",
  "do_not_commit_and_stop",
] as const;
export const ESCALATION_ACTIONS = ["continue", "pause", "stop"] as const;

/** How a deployment processes (docs/api.md, "Processing settings"); `version` grows with every change. */
export interface ProcessingSettings {
  version: number;
  ordering: string;
  workers: number;
  max_in_flight_records: number;
  max_in_flight_bytes: number;
  max_in_flight_per_partition: number;
  retries: {
    max_retries: number;
    backoff_ms: number;
    multiplier: number;
    max_backoff_ms: number;
    jitter_ms: number;
    attempt_timeout_ms: number;
  };
  on_exhausted: string | null;
  escalation: { threshold: number; window_ms: number; action: string; breaker_cooldown_ms: number };
  dead_letters: {
    enabled: boolean;
    topic: string;
    create_topic: boolean;
    max_ratio: number;
    ratio_window_ms: number;
    min_samples: number;
    max_consecutive: number;
  };
  commit_interval_ms: number;
  commit_every: number;
}

/** A registered Kafka cluster (GET /clusters). */
export interface Cluster {
  name: string;
  kafka_bootstrap: string;
}

export type MirrorNaming = "prefix" | "identity" | "template";

/** A mirror deployment's copy (docs/mirror.md); fixed at creation. */
export interface MirrorSpec {
  target_cluster: string;
  source_alias: string;
  naming: MirrorNaming;
  prefix: string | null;
  template: string | null;
  coordinate_headers: boolean;
  /** More source topics: every one this regular expression matches (whole names). */
  source_topic_pattern?: string | null;
  /** Each live topic's copy on the target cluster. */
  target_topics: Record<string, string>;
}

/** POST /deployments: what the dashboard's form sends (docs/api.md). */
export interface DeploymentCreate {
  name: string;
  team?: string;
  cluster: string;
  live: BindingSpec;
  strategy: string;
  colours: { blue: { version: string }; green: { version: string; via_mirror?: string } };
  mirror?: Omit<MirrorSpec, "target_topics" | "source_alias"> & { source_alias?: string };
}

export interface Deployment {
  name: string;
  /** The owning team; scoped tokens see deployments by it. */
  team?: string | null;
  cluster: string;
  live: BindingSpec;
  preview: BindingSpec | null;
  strategy: string;
  processing: ProcessingSettings;
  drain_timeout_ms: number;
  absent_pin_policy: AbsentPinPolicy;
  colours: Record<Colour, ColourSpec>;
  active_colour: Colour;
  pins: Record<string, string>;
  paused: boolean;
  /** A mirror's copy; null for any other deployment. */
  mirror?: MirrorSpec | null;
  epoch: number;
  /** The API may embed the last Switch or leave it null. */
  last_switch: Switch | null;
  created_at: string;
  updated_at: string;
  version: number;
}

export interface InstanceState {
  instance: string;
  colour: Colour;
  version: string;
  host: string;
  pid: number;
  /** The newest directive epoch the instance acknowledged; null before its first. */
  epoch: number | null;
  state: string;
  partitions: number;
  fenced: boolean;
  rate_per_s: number | null;
  errors: number;
  /** The processing settings version it runs with; null: it does not say. */
  processing_version: number | null;
  /** Whether it runs the deployment's newest settings version; null when it does not say. */
  processing_current: boolean | null;
  /** Why it refused the newest settings version (it keeps its last good one). */
  processing_refused: string | null;
  /** Whether it could take over at full speed. */
  ready: boolean;
  /** Why it is not ready, or that an older agent not reporting readiness is counted as ready. */
  readiness_note: string | null;
}

export interface ColourReadiness {
  ready: boolean;
  instances: number;
  ready_instances: number;
  /** Why a switch to this colour would be refused (409) unless forced. */
  refusal: string | null;
}

export interface PartitionState {
  binding: "live" | "preview" | string;
  topic: string;
  partition: number;
  owner_instance: string | null;
  owner_colour: Colour | null;
  owner_epoch: number | null;
  committed_offset: number | null;
  end_offset: number | null;
  lag: number | null;
}

export interface DeploymentState {
  deployment: string;
  epoch: number;
  active_colour: Colour;
  paused: boolean;
  /** "ok" or "unreachable: <reason>". */
  zookeeper: string;
  /** "ok" or "unreachable: <reason>" (the service sends it; offsets and lag need Kafka). */
  kafka?: string;
  instances: InstanceState[];
  partitions: PartitionState[];
  lag_total: number;
  lag_status: LagStatus;
  /** The deployment's newest processing settings version. */
  processing_version: number;
  readiness: Record<Colour, ColourReadiness>;
}

export interface LagPoint {
  at: string;
  total: number;
  partitions: Record<string, number>;
}

export interface LagHistory {
  points: LagPoint[];
}

export interface PinRequest {
  pins: Record<string, string>;
  absent_pin_policy: AbsentPinPolicy;
}

export interface PinMove {
  partition: string;
  from_instance: string | null;
  to_instance: string | null;
}

export interface PinPlan {
  moves: PinMove[];
  unowned: string[];
}

export type ResetTarget = "earliest" | "latest" | "timestamp" | "explicit";

export interface OffsetResetRequest {
  binding: "live" | "preview";
  to: ResetTarget;
  timestamp_ms?: number;
  offsets?: Record<string, number>;
  dry_run: boolean;
}

export interface OffsetResetPlan {
  executed: boolean;
  partitions: { partition: string; current: number | null; target: number }[];
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  deployment: string | null;
  detail: unknown;
}

/** "<topic>/<partition>": the key the API uses for partitions (pins, lag points). */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

/** POST /deployments/{name}/stream-tickets: opens the event stream once, within expires_in_s. */
export interface StreamTicket {
  ticket: string;
  expires_in_s: number;
  events_url: string;
}
