"use client";
// One booking, watched live: while it is PENDING the page asks for it again every second
// (backing off to a few seconds), and announces the outcome — CONFIRMED, or CANCELLED with the
// reason — through a live region.
import Link from "next/link";
import { useEffect, useState } from "react";
import { api } from "@/lib/api/endpoints";
import { describeFailure, type FailureView } from "@/lib/api/errors";
import type { Booking } from "@/lib/api/schemas";
import { todayIso } from "@/lib/dates";
import { toBookingView } from "@/lib/view/bookings";
import { ErrorState } from "./error-state";
import { useGateway, useSession } from "./providers";
import { PageSkeleton } from "./require-session";
import { StatusBadge } from "./status-badge";

const PANEL: Record<string, string> = {
  pending: "border-amber-200 bg-amber-50",
  success: "border-emerald-200 bg-emerald-50",
  danger: "border-red-200 bg-red-50",
  neutral: "border-slate-200 bg-white",
};

/** Poll every second at first, then more slowly; never faster than the gateway allows. */
function pollDelay(attempt: number): number {
  return Math.min(1000 + attempt * 250, 5000);
}

export function BookingStatus({ id }: { id: string }) {
  const gateway = useGateway();
  const { store } = useSession();
  const [booking, setBooking] = useState<Booking>();
  const [failure, setFailure] = useState<FailureView>();
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    const poll = async () => {
      try {
        const b = await store.authorized((token) => api.booking(gateway, token, id, controller.signal));
        if (controller.signal.aborted) return;
        setBooking(b);
        setFailure(undefined);
        if (b.status === "PENDING") timer = setTimeout(poll, pollDelay(attempt++));
      } catch (e) {
        if (controller.signal.aborted) return;
        const f = describeFailure(e);
        setFailure(f);
        // Passing trouble (network, rate limit, a restarting service): keep watching.
        if (f.kind === "unreachable" || f.kind === "unavailable" || f.kind === "rate_limited") {
          timer = setTimeout(poll, Math.max(pollDelay(attempt++), (f.retryAfterSeconds ?? 0) * 1000));
        }
      }
    };
    void poll();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [gateway, store, id, generation]);

  if (!booking) {
    return failure ? <ErrorState failure={failure} onRetry={() => setGeneration((g) => g + 1)} /> : <PageSkeleton label="Loading your booking…" />;
  }
  const v = toBookingView(booking, todayIso());
  return (
    <div className="mx-auto max-w-2xl space-y-4">
      <div className={`rounded-xl border p-6 ${PANEL[v.tone]}`} data-testid="booking-status" data-status={v.status}>
        <div aria-live="polite" aria-atomic="true">
          <div className="flex flex-wrap items-center gap-3">
            <h1 className="text-2xl font-bold">
              {v.status === "PENDING" ? "Confirming your booking…" : v.status === "CONFIRMED" ? "Booking confirmed" : v.statusLabel}
            </h1>
            <StatusBadge tone={v.tone} label={v.statusLabel} />
          </div>
          <p className="mt-2 text-slate-700" data-testid="booking-explanation">
            {v.explanation}
          </p>
        </div>
        {failure && <p className="mt-2 text-sm text-amber-800">Having trouble checking the status — still trying…</p>}
        <div className="mt-4 flex flex-wrap gap-3">
          {v.retryHref && (
            <Link className="btn-primary" href={v.retryHref}>
              Try another payment method
            </Link>
          )}
          <Link className="btn-secondary" href="/bookings">
            My bookings
          </Link>
          <Link className="btn-secondary" href={v.hotelHref}>
            Back to {v.hotelName}
          </Link>
        </div>
      </div>
      <dl className="card grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 p-6 text-sm">
        <dt className="text-slate-500">Hotel</dt>
        <dd className="font-medium">{v.hotelName}</dd>
        <dt className="text-slate-500">Room</dt>
        <dd>{v.room}</dd>
        <dt className="text-slate-500">Dates</dt>
        <dd>
          {v.stay} ({v.nightsLabel})
        </dd>
        <dt className="text-slate-500">Guests</dt>
        <dd>{v.partyLabel}</dd>
        <dt className="text-slate-500">Total</dt>
        <dd className="font-semibold">{v.amount}</dd>
        <dt className="text-slate-500">Reference</dt>
        <dd className="break-all font-mono text-xs">{v.id}</dd>
      </dl>
    </div>
  );
}
