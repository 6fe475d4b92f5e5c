import { Link } from "react-router-dom";
import { EmptyState } from "../components/States";

export function NotFoundPage() {
  return (
    <EmptyState title="There is no page at this address.">
      <Link to="/">Back to the deployments</Link>
    </EmptyState>
  );
}
