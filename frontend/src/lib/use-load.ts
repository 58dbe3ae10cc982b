"use client";
// Load data in a client component with the three states every screen needs: loading, loaded,
// failed (as a FailureView ready for <ErrorState>), plus reload.
import { useCallback, useEffect, useEffectEvent, useState } from "react";
import { describeFailure, type FailureView } from "./api/errors";

export type Loaded<T> = { state: "loading" } | { state: "loaded"; data: T } | { state: "failed"; failure: FailureView };

/** Run `load` when `enabled` and whenever `key` changes; the latest answer wins. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, key: string, enabled = true) {
  const [result, setResult] = useState<Loaded<T>>({ state: "loading" });
  const [generation, setGeneration] = useState(0);
  const run = useEffectEvent(load);

  useEffect(() => {
    if (!enabled) return;
    const controller = new AbortController();
    setResult({ state: "loading" });
    run(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setResult({ state: "loaded", data });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setResult({ state: "failed", failure: describeFailure(error) });
      },
    );
    return () => controller.abort();
  }, [key, enabled, generation]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { result, setResult, reload };
}
