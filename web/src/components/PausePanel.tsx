import { useState } from "react";
import type { Deployment } from "../api/types";
import { useAuth, useClient } from "../auth/AuthContext";
import { ConfirmDialog } from "./ConfirmDialog";

/** Pause and resume the whole deployment, after a confirmation saying what it does. */
export function PausePanel({ deployment, paused, onChanged }: { deployment: Deployment; paused: boolean; onChanged: (d: Deployment) => void }) {
  const client = useClient();
  const { handleError } = useAuth();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      onChanged(paused ? await client.resume(deployment.name) : await client.pause(deployment.name));
      setConfirming(false);
    } catch (err) {
      setError(handleError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="actions">
      <span>
        Consumption is <strong data-testid="paused-state">{paused ? "paused" : "running"}</strong>.
      </span>
      <button type="button" onClick={() => { setError(null); setConfirming(true); }}>
        {paused ? "Resume…" : "Pause…"}
      </button>
      {confirming ? (
        <ConfirmDialog
          title={`${paused ? "Resume" : "Pause"} ${deployment.name}?`}
          confirmLabel={paused ? "Resume" : "Pause"}
          onConfirm={run}
          onCancel={() => setConfirming(false)}
          busy={busy}
          danger={!paused}
          error={error}
        >
          {paused ? (
            <p>A new directive (epoch {deployment.epoch} → {deployment.epoch + 1}) tells every instance to fetch again from its committed offsets.</p>
          ) : (
            <p>
              A new directive (epoch {deployment.epoch} → {deployment.epoch + 1}) tells every instance of both colours to stop
              fetching. Ownership is kept; lag grows until you resume.
            </p>
          )}
        </ConfirmDialog>
      ) : null}
    </div>
  );
}
