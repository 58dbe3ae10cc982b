"use client";
// One screen for every failure a user can meet: unreachable, rate limited (with a countdown to
// when a retry is allowed), expired session, not found, invalid input, and the rest.
import Link from "next/link";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useEffect, useState } from "react";
import type { FailureView } from "@/lib/api/errors";
import { Icon, type IconName } from "./icons";

const ICONS: Partial<Record<FailureView["kind"], IconName>> = {
  unreachable: "offline",
  unavailable: "offline",
  rate_limited: "clock",
  session_expired: "lock",
  unauthorized: "lock",
  not_found: "search",
};

/** The sign-in page's address that brings the user back here afterwards. */
export function useSignInHref(): string {
  const path = usePathname();
  const search = useSearchParams();
  const here = search.size ? `${path}?${search.toString()}` : path;
  return `/signin?next=${encodeURIComponent(here)}`;
}

/** Counts down to zero from `seconds`, once a second. */
function useCountdown(seconds: number | undefined): number {
  const [left, setLeft] = useState(seconds ?? 0);
  useEffect(() => {
    setLeft(seconds ?? 0);
    if (!seconds) return;
    const started = Date.now();
    const id = setInterval(() => {
      const remaining = Math.max(0, seconds - Math.floor((Date.now() - started) / 1000));
      setLeft(remaining);
      if (remaining === 0) clearInterval(id);
    }, 250);
    return () => clearInterval(id);
  }, [seconds]);
  return left;
}

export function ErrorState({
  failure,
  onRetry,
  compact = false,
}: {
  failure: FailureView;
  /** How to try again; by default the page is fetched again from the server. */
  onRetry?: () => void;
  compact?: boolean;
}) {
  const router = useRouter();
  const signInHref = useSignInHref();
  const left = useCountdown(failure.kind === "rate_limited" ? failure.retryAfterSeconds : undefined);
  const retry = onRetry ?? (() => router.refresh());
  const needsSignIn = failure.kind === "session_expired" || failure.kind === "unauthorized";
  const canRetry = !needsSignIn && failure.kind !== "not_found" && failure.kind !== "forbidden" && failure.kind !== "validation";

  return (
    <section
      role="alert"
      aria-labelledby="failure-title"
      data-failure={failure.kind}
      className={`card mx-auto max-w-xl text-center ${compact ? "p-4" : "p-8"}`}
    >
      <div
        className={`mx-auto grid h-14 w-14 place-items-center rounded-full ${failure.kind === "rate_limited" ? "bg-amber-50 text-amber-600" : "bg-slate-100 text-slate-500"}`}
      >
        <Icon name={ICONS[failure.kind] ?? "alert"} className="h-7 w-7" />
      </div>
      <h2 id="failure-title" className="mt-2 text-lg font-semibold text-slate-900">
        {failure.title}
      </h2>
      <p className="mt-1 text-slate-600">{failure.message}</p>
      {failure.fieldProblems && failure.fieldProblems.length > 0 && (
        <ul className="mt-3 space-y-1 text-left text-sm text-red-700">
          {failure.fieldProblems.map((p) => (
            <li key={p.field + p.message}>
              <strong>{p.field}</strong>: {p.message}
            </li>
          ))}
        </ul>
      )}
      {failure.kind === "rate_limited" && (
        <p className="mt-3 text-sm font-medium text-amber-700" aria-live="polite">
          {left > 0 ? `You can try again in ${left} second${left === 1 ? "" : "s"}.` : "You can try again now."}
        </p>
      )}
      <div className="mt-5 flex flex-wrap justify-center gap-3">
        {needsSignIn && (
          <Link className="btn-primary" href={signInHref}>
            Sign in again
          </Link>
        )}
        {canRetry && (
          <button type="button" className="btn-primary" onClick={retry} disabled={failure.kind === "rate_limited" && left > 0}>
            Try again
          </button>
        )}
        <Link className="btn-secondary" href="/">
          Go to search
        </Link>
      </div>
      {failure.requestId && <p className="mt-4 text-xs text-slate-400">Reference: {failure.requestId}</p>}
    </section>
  );
}
