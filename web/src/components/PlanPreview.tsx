/** The plan a pin change would cause, as the control plane computed it (dry run). */
import type { PinPlan } from "../api/types";
import { summarisePlan } from "../lib/pinPlan";

export function PlanPreview({ plan, registered }: { plan: PinPlan; registered: readonly string[] }) {
  const summary = summarisePlan(plan, registered);
  if (summary.empty) {
    return (
      <div className="plan" data-testid="plan-preview" role="status">
        <p>No partition would move and none would be left unowned: applying changes nothing in ownership.</p>
      </div>
    );
  }
  return (
    <div className="plan" data-testid="plan-preview" role="region" aria-label="Plan preview">
      <p>
        <strong>{summary.moveCount}</strong> {summary.moveCount === 1 ? "partition moves" : "partitions move"}
        {summary.unownedCount > 0 ? (
          <>
            , <strong>{summary.unownedCount}</strong> left unowned
          </>
        ) : null}
        .
      </p>
      {summary.absentTargets.length > 0 ? (
        <p className="warning" role="note">
          Not a live member now (not registered, or of the standby colour): {summary.absentTargets.join(", ")}. Their
          partitions follow the absent-pin policy.
        </p>
      ) : null}
      {plan.moves.length > 0 ? (
        <table>
          <caption className="visually-hidden">Partition moves</caption>
          <thead>
            <tr>
              <th scope="col">Partition</th>
              <th scope="col">From</th>
              <th scope="col">To</th>
            </tr>
          </thead>
          <tbody>
            {plan.moves.map((move) => (
              <tr key={move.partition} data-testid="plan-move">
                <td>{move.partition}</td>
                <td>{move.from_instance ?? "unowned"}</td>
                <td>{move.to_instance ?? "unowned"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {plan.unowned.length > 0 ? (
        <p className="warning" data-testid="plan-unowned">
          Left without an owner (no consumer will process them): {plan.unowned.join(", ")}
        </p>
      ) : null}
    </div>
  );
}
