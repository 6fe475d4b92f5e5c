/**
 * Processing settings in the dashboard: the fields the editor shows, a draft of edited
 * values, and what a draft would change (old → new per field) before it is saved.
 *
 * The control plane checks the merged settings (ranges, fields checked against each
 * other, values agents know); the editor only turns its text boxes into typed values
 * and sends the fields that differ, nested as the API takes them.
 */
import type { ProcessingSettings } from "../api/types";
import { ESCALATION_ACTIONS, EXHAUSTED_DECISIONS, ORDERINGS } from "../api/types";

export type FieldKind = "int" | "float" | "bool" | "text" | "choice";

export interface SettingField {
  /** Dotted path in ProcessingSettings, e.g. "retries.max_retries". */
  path: string;
  label: string;
  kind: FieldKind;
  group: string;
  /** For "choice": the values; "" stands for null (the documented default). */
  options?: readonly string[];
  hint?: string;
}

/** "" in a choice means null: on_exhausted's default depends on dead letters. */
export const DEFAULT_CHOICE = "";

export const SETTING_FIELDS: readonly SettingField[] = [
  { path: "ordering", label: "Ordering", kind: "choice", group: "Work", options: ORDERINGS },
  { path: "workers", label: "Workers", kind: "int", group: "Work", hint: "handler calls at once" },
  { path: "max_in_flight_records", label: "In flight, records", kind: "int", group: "Work" },
  { path: "max_in_flight_bytes", label: "In flight, bytes", kind: "int", group: "Work" },
  { path: "max_in_flight_per_partition", label: "In flight per partition", kind: "int", group: "Work" },
  { path: "retries.max_retries", label: "Retries", kind: "int", group: "Retries", hint: "after the first attempt" },
  { path: "retries.backoff_ms", label: "First backoff (ms)", kind: "int", group: "Retries" },
  { path: "retries.multiplier", label: "Backoff multiplier", kind: "float", group: "Retries" },
  { path: "retries.max_backoff_ms", label: "Longest backoff (ms)", kind: "int", group: "Retries" },
  { path: "retries.jitter_ms", label: "Jitter (ms)", kind: "int", group: "Retries" },
  { path: "retries.attempt_timeout_ms", label: "Attempt timeout (ms)", kind: "int", group: "Retries" },
  {
    path: "on_exhausted",
    label: "When retries run out",
    kind: "choice",
    group: "Failures",
    options: [DEFAULT_CHOICE, ...EXHAUSTED_DECISIONS],
    hint: "default: commit_and_continue with dead letters, else do_not_commit_and_stop",
  },
  { path: "escalation.threshold", label: "Escalate after (records)", kind: "int", group: "Failures" },
  { path: "escalation.window_ms", label: "Escalation window (ms)", kind: "int", group: "Failures" },
  { path: "escalation.action", label: "Escalation action", kind: "choice", group: "Failures", options: ESCALATION_ACTIONS },
  { path: "escalation.breaker_cooldown_ms", label: "Breaker cooldown (ms)", kind: "int", group: "Failures" },
  { path: "dead_letters.enabled", label: "Dead letters", kind: "bool", group: "Dead letters" },
  { path: "dead_letters.topic", label: "Topic ({topic}: the record's)", kind: "text", group: "Dead letters" },
  { path: "dead_letters.create_topic", label: "Create the topic", kind: "bool", group: "Dead letters" },
  { path: "dead_letters.max_ratio", label: "Stop above ratio", kind: "float", group: "Dead letters" },
  { path: "dead_letters.ratio_window_ms", label: "Ratio window (ms)", kind: "int", group: "Dead letters" },
  { path: "dead_letters.min_samples", label: "Ratio after (records)", kind: "int", group: "Dead letters" },
  { path: "dead_letters.max_consecutive", label: "Stop after in a row", kind: "int", group: "Dead letters" },
  { path: "commit_interval_ms", label: "Commit every (ms)", kind: "int", group: "Commits" },
  { path: "commit_every", label: "Commit every (records)", kind: "int", group: "Commits" },
];

export const SETTING_GROUPS: readonly string[] = [...new Set(SETTING_FIELDS.map((f) => f.group))];

export function valueAt(settings: ProcessingSettings, path: string): unknown {
  let node: unknown = settings;
  for (const key of path.split(".")) node = node && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined;
  return node;
}

/** A value as the editor and the preview show it. */
export function showValue(value: unknown): string {
  if (value === null || value === undefined) return "default";
  if (typeof value === "boolean") return value ? "on" : "off";
  if (typeof value === "number") return new Intl.NumberFormat("en-US", { maximumFractionDigits: 6 }).format(value);
  return String(value);
}

/** The editor's text for each field: what the inputs start with. */
export type Draft = Record<string, string>;

export function draftOf(settings: ProcessingSettings): Draft {
  const draft: Draft = {};
  for (const field of SETTING_FIELDS) {
    const value = valueAt(settings, field.path);
    draft[field.path] = value === null || value === undefined ? DEFAULT_CHOICE : String(value);
  }
  return draft;
}

/** The typed value of a draft entry, or an error saying why it has none. */
export function parseField(field: SettingField, text: string): { value: unknown } | { error: string } {
  const trimmed = text.trim();
  switch (field.kind) {
    case "int":
      return /^-?\d+$/.test(trimmed) ? { value: Number(trimmed) } : { error: "must be a whole number" };
    case "float":
      return trimmed !== "" && Number.isFinite(Number(trimmed)) ? { value: Number(trimmed) } : { error: "must be a number" };
    case "bool":
      return { value: trimmed === "true" };
    case "choice":
      return { value: trimmed === DEFAULT_CHOICE ? null : trimmed };
    case "text":
      return trimmed ? { value: trimmed } : { error: "must not be empty" };
  }
}

export interface FieldChange {
  field: SettingField;
  old: unknown;
  new: unknown;
}

export interface DraftReading {
  changes: FieldChange[];
  /** Field path → why its text is not a value. */
  errors: Record<string, string>;
}

/** What saving ``draft`` over ``settings`` would change, field by field. */
export function readDraft(settings: ProcessingSettings, draft: Draft): DraftReading {
  const changes: FieldChange[] = [];
  const errors: Record<string, string> = {};
  for (const field of SETTING_FIELDS) {
    const parsed = parseField(field, draft[field.path] ?? "");
    if ("error" in parsed) {
      errors[field.path] = parsed.error;
      continue;
    }
    const old = valueAt(settings, field.path) ?? null;
    if (parsed.value !== old) changes.push({ field, old, new: parsed.value });
  }
  return { changes, errors };
}

/** The PATCH body's `processing` object: only the changed fields, nested. */
export function changeObject(changes: readonly FieldChange[]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const change of changes) {
    const keys = change.field.path.split(".");
    let node = root;
    for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
    node[keys[keys.length - 1]!] = change.new;
  }
  return root;
}
