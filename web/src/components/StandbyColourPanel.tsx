/**
 * The standby colour's version label and the cluster it consumes on (an admin's). A
 * colour may consume the copies a Turnout mirror makes of this deployment's topics on
 * another cluster; a switch to it then moves the deployment there (docs/mirror.md,
 * "Cluster migration"). The live colour's cluster changes only by a switch, so only the
 * standby colour is edited here. The change is a PATCH guarded by the deployment's
 * version (If-Match); the control plane checks the mirror and answers why it refuses.
 */
import { useState } from "react";
import type { Colour, ColourChange, Deployment } from "../api/types";
import { useAuth, useClient } from "../auth/AuthContext";
import { RequireRole } from "../auth/RequireRole";
import { useAsync } from "../hooks/useAsync";
import { ConfirmDialog } from "./ConfirmDialog";

export function StandbyColourPanel({ deployment, onSaved }: { deployment: Deployment; onSaved: (d: Deployment) => void }) {
  return (
    <RequireRole min="admin" fallback={<p className="muted small">Changing a colour needs the admin role.</p>}>
      {/* Remounted per deployment version: the form starts from what is stored. */}
      <StandbyColourForm key={deployment.version} deployment={deployment} onSaved={onSaved} />
    </RequireRole>
  );
}

function StandbyColourForm({ deployment, onSaved }: { deployment: Deployment; onSaved: (d: Deployment) => void }) {
  const client = useClient();
  const { handleError } = useAuth();
  const others = useAsync((signal) => client.deployments(signal), [client]);
  const standby: Colour = deployment.active_colour === "blue" ? "green" : "blue";
  const spec = deployment.colours[standby];
  const [version, setVersion] = useState(spec.version);
  const [via, setVia] = useState(spec.via_mirror ?? "");
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  // A mirror's colours copy from its own cluster; a preview binding has no copies.
  const mayCross = !deployment.mirror && !deployment.preview;
  const crossable = mayCross ? (others.data?.data ?? []).filter((d) => d.mirror && d.cluster === deployment.cluster) : [];
  const chosen = crossable.find((d) => d.name === via);
  const change: ColourChange = {};
  if (version.trim() !== "" && version.trim() !== spec.version) change.version = version.trim();
  if (via !== (spec.via_mirror ?? "")) change.via_mirror = via === "" ? null : via;
  const changed = Object.keys(change).length > 0;
  const runsOn = chosen ? chosen.mirror!.target_cluster : via === "" ? deployment.cluster : (spec.cluster ?? "?");

  const save = async () => {
    setBusy(true);
    setError(null);
    try {
      onSaved(await client.changeColour(deployment.name, standby, change, deployment.version));
      setConfirming(false);
    } catch (err) {
      setError(handleError(err));
    } finally {
      setBusy(false);
    }
  };

  const selectId = `standby-via-${deployment.name}`;
  return (
    <div className="form-grid" data-testid="standby-colour">
      <label htmlFor="standby-version">{standby} version</label>
      <input id="standby-version" value={version} onChange={(e) => setVersion(e.target.value)} />
      {mayCross ? (
        <>
          <label htmlFor={selectId}>{standby} consumes the copies of</label>
          <select id={selectId} value={via} onChange={(e) => setVia(e.target.value)}>
            <option value="">no mirror: {deployment.cluster}</option>
            {spec.via_mirror && !crossable.some((d) => d.name === spec.via_mirror) ? (
              <option value={spec.via_mirror}>mirror {spec.via_mirror}</option>
            ) : null}
            {crossable.map((d) => (
              <option key={d.name} value={d.name}>
                mirror {d.name} → {d.mirror!.target_cluster}
              </option>
            ))}
          </select>
        </>
      ) : null}
      {others.status === "error" && mayCross ? (
        <p className="form-wide muted small" role="status">
          The mirrors could not be listed ({others.error}); only the stored choice is offered.
        </p>
      ) : null}
      <div className="form-wide actions">
        <button type="button" disabled={!changed} onClick={() => { setError(null); setConfirming(true); }}>
          Change {standby}…
        </button>
      </div>
      {confirming ? (
        <ConfirmDialog
          title={`Change ${standby} of ${deployment.name}?`}
          confirmLabel={`Change ${standby}`}
          onConfirm={save}
          onCancel={() => setConfirming(false)}
          busy={busy}
          error={error}
        >
          <ul data-testid="standby-change">
            {change.version !== undefined ? (
              <li>
                version {spec.version} → <strong>{change.version}</strong>
              </li>
            ) : null}
            {change.via_mirror !== undefined ? (
              <li>
                runs on <strong>{runsOn}</strong>
                {change.via_mirror ? ` and consumes the copies made by ${change.via_mirror}` : ", consuming the topics themselves"} (now:{" "}
                {spec.via_mirror ? `${spec.cluster ?? "?"} via mirror ${spec.via_mirror}` : deployment.cluster})
              </li>
            ) : null}
          </ul>
          <p>
            A new directive (epoch {deployment.epoch} → {deployment.epoch + 1}).
            {change.via_mirror !== undefined
              ? ` ${standby}'s agents running on another cluster own nothing from then on and say why in their status; start them on ${runsOn} (${
                  change.via_mirror ? "turnout mirror consume" : "turnout agent run"
                }). A switch to ${standby} moves the deployment to ${runsOn}.`
              : ""}
          </p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
