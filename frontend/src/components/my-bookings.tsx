"use client";
// The traveller's bookings, newest first: status, cancel (confirmed stays that have not
// started, with a confirmation step), and a review form once the stay has begun.
import Link from "next/link";
import { useState } from "react";
import { api } from "@/lib/api/endpoints";
import { describeFailure } from "@/lib/api/errors";
import type { Booking, BookingPage } from "@/lib/api/schemas";
import { todayIso } from "@/lib/dates";
import { useLoad } from "@/lib/use-load";
import { toBookingView } from "@/lib/view/bookings";
import { ErrorState } from "./error-state";
import { useGateway, useSession } from "./providers";
import { PageSkeleton } from "./require-session";
import { ReviewForm } from "./review-form";
import { StatusBadge } from "./status-badge";

const PAGE_SIZE = 20;

function BookingItem({ booking, onChange }: { booking: Booking; onChange: (b: Booking) => void }) {
  const gateway = useGateway();
  const { store } = useSession();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const v = toBookingView(booking, todayIso());

  async function cancel() {
    setBusy(true);
    setError(undefined);
    try {
      onChange(await store.authorized((token) => api.cancelBooking(gateway, token, booking.id)));
      setConfirming(false);
    } catch (e) {
      const f = describeFailure(e);
      setError(f.kind === "conflict" ? f.message : `${f.title}. ${f.message}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <li className="card p-4" data-testid="booking-item" data-booking-id={v.id} data-status={v.status}>
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="min-w-0">
          <h2 className="text-lg font-semibold">
            <Link href={v.href} className="hover:underline">
              {v.hotelName}
            </Link>
          </h2>
          <p className="text-sm text-slate-600">
            {v.room} · {v.stay} · {v.partyLabel}
          </p>
        </div>
        <div className="flex items-center gap-3 sm:flex-col sm:items-end sm:gap-1">
          <StatusBadge tone={v.tone} label={v.statusLabel} />
          <p className="font-semibold">{v.amount}</p>
        </div>
      </div>
      {v.status !== "CONFIRMED" && v.explanation && <p className="mt-2 text-sm text-slate-600">{v.explanation}</p>}
      <div className="mt-3 flex flex-wrap items-center gap-2">
        <Link href={v.href} className="btn-secondary">
          Details
        </Link>
        {v.canCancel && !confirming && (
          <button type="button" className="btn-secondary text-red-700" onClick={() => setConfirming(true)}>
            Cancel booking
          </button>
        )}
        {v.canCancel && confirming && (
          <div role="group" aria-label="Confirm cancellation" className="flex flex-wrap items-center gap-2 rounded-lg bg-red-50 p-2">
            <span className="text-sm text-red-900">Cancel this stay? You will be refunded.</span>
            <button type="button" className="btn-danger" onClick={cancel} disabled={busy} autoFocus>
              {busy ? "Cancelling…" : "Yes, cancel"}
            </button>
            <button type="button" className="btn-secondary" onClick={() => setConfirming(false)} disabled={busy}>
              Keep it
            </button>
          </div>
        )}
      </div>
      {error && (
        <p role="alert" className="mt-2 text-sm font-medium text-red-700">
          {error}
        </p>
      )}
      {v.canReview && (
        <div className="mt-3">
          <ReviewForm hotelId={v.hotelId} bookingId={v.id} hotelName={v.hotelName} />
        </div>
      )}
    </li>
  );
}

export function MyBookings() {
  const gateway = useGateway();
  const { store, session } = useSession();
  const [pages, setPages] = useState(1);
  const userKey = session.status === "signed-in" ? session.user.id : "";
  const { result, setResult, reload } = useLoad<BookingPage>(
    () => store.authorized((token) => api.bookings(gateway, token, 1, PAGE_SIZE * pages)),
    `${userKey}:${pages}`,
  );

  if (result.state === "loading") return <PageSkeleton label="Loading your bookings…" />;
  if (result.state === "failed") return <ErrorState failure={result.failure} onRetry={reload} />;
  const { items, total } = result.data;
  const replace = (b: Booking) => setResult({ state: "loaded", data: { total, items: items.map((x) => (x.id === b.id ? b : x)) } });

  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-bold">My bookings</h1>
      {items.length === 0 ? (
        <div className="card p-8 text-center" data-testid="no-bookings">
          <p className="text-slate-600">You have no bookings yet.</p>
          <Link href="/" className="btn-primary mt-4">
            Find a hotel
          </Link>
        </div>
      ) : (
        <>
          <ul className="grid gap-4">
            {items.map((b) => (
              <BookingItem key={b.id} booking={b} onChange={replace} />
            ))}
          </ul>
          {items.length < total && (
            <button type="button" className="btn-secondary mx-auto flex" onClick={() => setPages((p) => p + 1)}>
              Show more bookings
            </button>
          )}
        </>
      )}
    </div>
  );
}
