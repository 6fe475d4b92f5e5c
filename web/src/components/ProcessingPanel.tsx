/**
 * The deployment's processing settings: what is in force and which instances run it;
 * for admins, an editor whose "Review changes" step shows every field that would change
 * (old → new) before anything is saved. A save is one PATCH guarded by the deployment's
 * version (If-Match), so a concurrent change is reported instead of overwritten.
 */
import { useId, useState } from "react";
import type { Deployment, DeploymentState, ProcessingSettings } from "../api/types";
import { useAuth, useClient } from "../auth/AuthContext";
import { RequireRole } from "../auth/RequireRole";
import {
  changeObject,
  DEFAULT_CHOICE,
  draftOf,
  readDraft,
  SETTING_FIELDS,
  SETTING_GROUPS,
  showValue,
  valueAt,
  type Draft,
  type FieldChange,
  type SettingField,
} from "../lib/processing";

type Mode = { kind: "view" } | { kind: "edit"; draft: Draft } | { kind: "review"; draft: Draft; changes: FieldChange[] };

export function ProcessingPanel({
  deployment,
  state,
  onSaved,
}: {
  deployment: Deployment;
  state: DeploymentState | null;
  onSaved: (d: Deployment) => void;
}) {
  const client = useClient();
  const { handleError } = useAuth();
  const [mode, setMode] = useState<Mode>({ kind: "view" });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const settings = deployment.processing;

  const save = async (changes: FieldChange[]) => {
    setBusy(true);
    setError(null);
    try {
      onSaved(await client.changeProcessing(deployment.name, changeObject(changes), deployment.version));
      setMode({ kind: "view" });
    } catch (err) {
      setError(handleError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div data-testid="processing-panel">
      <p>
        Processing settings <strong data-testid="processing-version">version {settings.version}</strong>
        {state ? <Adoption state={state} /> : null}
      </p>
      {mode.kind === "view" ? (
        <>
          <SettingsFacts settings={settings} />
          <RequireRole min="admin" fallback={<p className="muted small">Changing them needs the admin role.</p>}>
            <div className="actions">
              <button type="button" onClick={() => { setError(null); setMode({ kind: "edit", draft: draftOf(settings) }); }}>
                Edit settings…
              </button>
            </div>
          </RequireRole>
        </>
      ) : mode.kind === "edit" ? (
        <SettingsEditor
          settings={settings}
          draft={mode.draft}
          onChange={(draft) => setMode({ kind: "edit", draft })}
          onCancel={() => setMode({ kind: "view" })}
          onReview={(changes) => { setError(null); setMode({ kind: "review", draft: mode.draft, changes }); }}
        />
      ) : (
        <ChangePreview
          version={settings.version}
          changes={mode.changes}
          busy={busy}
          error={error}
          onBack={() => setMode({ kind: "edit", draft: mode.draft })}
          onSave={() => void save(mode.changes)}
        />
      )}
    </div>
  );
}

/** How many instances run the newest version; who is behind or refused it. */
function Adoption({ state }: { state: DeploymentState }) {
  const reporting = state.instances.filter((i) => i.processing_version !== null);
  const current = reporting.filter((i) => i.processing_current);
  const refused = state.instances.filter((i) => i.processing_refused);
  if (state.instances.length === 0) return null;
  return (
    <>
      {" · "}
      <span data-testid="processing-adoption">
        run by {current.length} of {state.instances.length} instance{state.instances.length === 1 ? "" : "s"}
      </span>
      {refused.length > 0 ? (
        <>
          {" "}
          <span className="badge badge-bad" data-testid="processing-refused-summary" title={refused.map((i) => `${i.instance}: ${i.processing_refused}`).join("\n")}>
            refused by {refused.map((i) => i.instance).join(", ")}
          </span>
        </>
      ) : null}
    </>
  );
}

function SettingsFacts({ settings }: { settings: ProcessingSettings }) {
  return (
    <dl className="facts settings-facts" data-testid="processing-settings">
      {SETTING_GROUPS.map((group) => (
        <div key={group} className="settings-group">
          <dt>{group}</dt>
          <dd>
            {SETTING_FIELDS.filter((f) => f.group === group)
              .map((f) => `${f.label.toLowerCase()} ${showValue(valueAt(settings, f.path))}`)
              .join(" · ")}
          </dd>
        </div>
      ))}
    </dl>
  );
}

function SettingsEditor({
  settings,
  draft,
  onChange,
  onCancel,
  onReview,
}: {
  settings: ProcessingSettings;
  draft: Draft;
  onChange: (draft: Draft) => void;
  onCancel: () => void;
  onReview: (changes: FieldChange[]) => void;
}) {
  const { changes, errors } = readDraft(settings, draft);
  const invalid = Object.keys(errors).length > 0;
  return (
    <form
      className="settings-editor"
      data-testid="processing-editor"
      onSubmit={(e) => {
        e.preventDefault();
        if (!invalid && changes.length > 0) onReview(changes);
      }}
    >
      {SETTING_GROUPS.map((group) => (
        <fieldset key={group}>
          <legend>{group}</legend>
          {SETTING_FIELDS.filter((f) => f.group === group).map((field) => (
            <FieldInput
              key={field.path}
              field={field}
              text={draft[field.path] ?? ""}
              error={errors[field.path] ?? null}
              onChange={(text) => onChange({ ...draft, [field.path]: text })}
            />
          ))}
        </fieldset>
      ))}
      <div className="actions">
        <button type="submit" className="primary" disabled={invalid || changes.length === 0}>
          Review {changes.length} change{changes.length === 1 ? "" : "s"}…
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        {changes.length === 0 && !invalid ? <span className="muted">Nothing changed yet.</span> : null}
      </div>
    </form>
  );
}

function FieldInput({ field, text, error, onChange }: { field: SettingField; text: string; error: string | null; onChange: (text: string) => void }) {
  const id = useId();
  const errorId = `${id}-error`;
  const described = error ? { "aria-invalid": true, "aria-describedby": errorId } : {};
  return (
    <div className="setting-field">
      <label htmlFor={id}>{field.label}</label>
      {field.kind === "choice" ? (
        <select id={id} value={text} onChange={(e) => onChange(e.target.value)} {...described}>
          {(field.options ?? []).map((option) => (
            <option key={option} value={option}>
              {option === DEFAULT_CHOICE ? "default" : option}
            </option>
          ))}
        </select>
      ) : field.kind === "bool" ? (
        <input id={id} type="checkbox" checked={text === "true"} onChange={(e) => onChange(String(e.target.checked))} />
      ) : (
        <input id={id} type="text" inputMode={field.kind === "text" ? "text" : "decimal"} value={text} onChange={(e) => onChange(e.target.value)} {...described} />
      )}
      {field.hint ? <span className="muted small">{field.hint}</span> : null}
      {error ? (
        <span id={errorId} className="text-bad small" role="alert">
          {error}
        </span>
      ) : null}
    </div>
  );
}

function ChangePreview({
  version,
  changes,
  busy,
  error,
  onBack,
  onSave,
}: {
  version: number;
  changes: FieldChange[];
  busy: boolean;
  error: string | null;
  onBack: () => void;
  onSave: () => void;
}) {
  return (
    <div data-testid="processing-preview">
      <p>
        Saving makes settings version {version + 1}: every instance of both colours applies it at a safe point (runs in
        flight finish under version {version}), without a restart.
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">Setting</th>
            <th scope="col">Now</th>
            <th scope="col">After saving</th>
          </tr>
        </thead>
        <tbody>
          {changes.map((c) => (
            <tr key={c.field.path} data-testid="processing-change" data-field={c.field.path}>
              <th scope="row">
                {c.field.label} <code className="muted small">{c.field.path}</code>
              </th>
              <td>{showValue(c.old)}</td>
              <td>
                <strong>{showValue(c.new)}</strong>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {error ? (
        <p className="state state-error" role="alert" data-testid="processing-error">
          {error}
        </p>
      ) : null}
      <div className="actions">
        <button type="button" className="primary" onClick={onSave} disabled={busy}>
          {busy ? "Saving…" : `Save as version ${version + 1}`}
        </button>
        <button type="button" onClick={onBack} disabled={busy}>
          Back to editing
        </button>
      </div>
    </div>
  );
}
