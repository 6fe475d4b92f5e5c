import { useCallback, useEffect, useRef, useState } from "react";
import { useAuth } from "../auth/AuthContext";

export type AsyncState<T> =
  | { status: "loading"; data: T | null; error: null }
  | { status: "ready"; data: T; error: null }
  | { status: "error"; data: T | null; error: string; httpStatus: number | null };

/**
 * Runs `load` when `deps` change and on `reload()`; a newer run cancels an older one.
 * Errors are explained (and a 401 signs out) through the auth context.
 */
export function useAsync<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
): AsyncState<T> & { reload: () => void; setData: (data: T) => void } {
  const { handleError } = useAuth();
  const [state, setState] = useState<AsyncState<T>>({ status: "loading", data: null, error: null });
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const controller = new AbortController();
    setState((prev) => ({ status: "loading", data: prev.data, error: null }));
    loadRef
      .current(controller.signal)
      .then((data) => {
        if (!controller.signal.aborted) setState({ status: "ready", data, error: null });
      })
      .catch((err: unknown) => {
        if (controller.signal.aborted) return;
        const httpStatus =
          err && typeof err === "object" && "status" in err && typeof err.status === "number" ? err.status : null;
        setState((prev) => ({ status: "error", data: prev.data, error: handleError(err), httpStatus }));
      });
    return () => controller.abort();
    // `load` is read through a ref: callers pass a new closure each render, `deps` say when it matters.
  }, [...deps, generation, handleError]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const setData = useCallback((data: T) => setState({ status: "ready", data, error: null }), []);
  return { ...state, reload, setData };
}
