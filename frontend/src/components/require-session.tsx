"use client";
// Pages that need a signed-in traveller: a placeholder while the stored session loads, a clear
// prompt when nobody is signed in, and "session expired" when a session has just ended.
import Link from "next/link";
import type { ReactNode } from "react";
import { ErrorState, useSignInHref } from "./error-state";
import { useSession } from "./providers";

export function PageSkeleton({ label = "Loading…" }: { label?: string }) {
  return (
    <div role="status" aria-live="polite" className="space-y-3">
      <span className="sr-only">{label}</span>
      {[0, 1].map((i) => (
        <div key={i} className="card h-28 animate-pulse bg-white p-4" aria-hidden="true">
          <div className="h-5 w-1/3 rounded bg-slate-200" />
          <div className="mt-3 h-4 w-1/2 rounded bg-slate-100" />
        </div>
      ))}
    </div>
  );
}

/** `what` completes "Sign in to …", e.g. "see your bookings". */
export function RequireSession({ what, children }: { what: string; children: ReactNode }) {
  const { session } = useSession();
  const signInHref = useSignInHref();
  if (session.status === "loading") return <PageSkeleton />;
  if (session.status === "anonymous") {
    if (session.expired) {
      return (
        <ErrorState
          failure={{ kind: "session_expired", title: "Your session has expired", message: "For your security you were signed out. Please sign in again." }}
        />
      );
    }
    return (
      <section className="card mx-auto max-w-md p-8 text-center" data-testid="sign-in-required">
        <h1 className="text-xl font-semibold">Sign in to {what}</h1>
        <p className="mt-1 text-slate-600">Use your TripNest account, or create one in a minute.</p>
        <div className="mt-5 flex justify-center gap-3">
          <Link href={signInHref} className="btn-primary">
            Sign in
          </Link>
          <Link href={signInHref.replace("/signin", "/signup")} className="btn-secondary">
            Create account
          </Link>
        </div>
      </section>
    );
  }
  return <>{children}</>;
}
