import type { ReactNode } from "react";
import type { Role } from "../api/types";
import { useAuth } from "./AuthContext";

/**
 * Renders `children` only for roles at or above `min`; otherwise `fallback`
 * (a short read-only note, so a viewer's page never has a silent hole in it).
 */
export function RequireRole({ min, children, fallback = null }: { min: Role; children: ReactNode; fallback?: ReactNode }) {
  const { can } = useAuth();
  return <>{can(min) ? children : fallback}</>;
}
