"use client";
// Booking: pick a test payment method, then "Book and pay". The request carries an
// Idempotency-Key that stays the same for every retry of the same booking — a double click, a
// retry after a network error, a 409 "still in flight" — so the stay is booked once. A new
// key is drawn only when the request itself changes (another payment method).
import { useRouter } from "next/navigation";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { api, type BookingRequest } from "@/lib/api/endpoints";
import { describeFailure, GatewayError, type FailureView } from "@/lib/api/errors";
import { newIdempotencyKey } from "@/lib/idempotency";
import { PAYMENT_METHODS, type PaymentMethodToken } from "@/lib/payment-methods";
import { ErrorState } from "./error-state";
import { useGateway, useSession } from "./providers";

const IN_FLIGHT_RETRIES = 10;

type Problem = { kind: "message"; text: string; soldOut?: boolean } | { kind: "failure"; failure: FailureView };

export function BookingForm({ request, totalLabel, hotelHref }: { request: Omit<BookingRequest, "paymentMethod">; totalLabel: string; hotelHref: string }) {
  const gateway = useGateway();
  const { store } = useSession();
  const router = useRouter();
  const [method, setMethod] = useState<PaymentMethodToken>("pm_card_visa");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem>();
  const keyFor = useRef<{ method: string; key: string } | null>(null);
  const sending = useRef(false);
  const problemRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (problem) problemRef.current?.focus();
  }, [problem]);

  /** The key for this exact request: kept across retries, new when the body changes. */
  function idempotencyKey(): string {
    if (!keyFor.current || keyFor.current.method !== method) keyFor.current = { method, key: newIdempotencyKey() };
    return keyFor.current.key;
  }

  async function send(key: string, body: BookingRequest) {
    for (let attemptNo = 0; ; attemptNo++) {
      try {
        return await store.authorized((token) => api.createBooking(gateway, token, key, body));
      } catch (e) {
        // The first request with this key is still running (e.g. a click that raced a retry):
        // wait for it to finish; its answer is then replayed to us.
        if (e instanceof GatewayError && e.code === "request_in_flight" && attemptNo < IN_FLIGHT_RETRIES) {
          await new Promise((r) => setTimeout(r, 300 + attemptNo * 200));
          continue;
        }
        throw e;
      }
    }
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (sending.current) return; // a second click while the first is on its way
    sending.current = true;
    setBusy(true);
    setProblem(undefined);
    const body: BookingRequest = { ...request, paymentMethod: method };
    try {
      const booking = await send(idempotencyKey(), body);
      router.push(`/bookings/${encodeURIComponent(booking.id)}`);
      return; // stay disabled while navigating
    } catch (err) {
      if (err instanceof GatewayError && err.code === "sold_out") {
        setProblem({ kind: "message", soldOut: true, text: "Sorry — this room just sold out for your dates. Nothing was charged." });
      } else if (err instanceof GatewayError && err.code === "idempotency_key_reused") {
        keyFor.current = null;
        setProblem({ kind: "message", text: "Your booking details changed since the last attempt. Please press Book again." });
      } else if (err instanceof GatewayError && err.kind === "unreachable") {
        setProblem({
          kind: "message",
          text: "We couldn't reach TripNest, so we don't know whether the booking went through. Press Book again — it is safe: you will not be booked or charged twice.",
        });
      } else {
        setProblem({ kind: "failure", failure: describeFailure(err) });
      }
    }
    sending.current = false;
    setBusy(false);
  }

  return (
    <form onSubmit={submit} noValidate className="space-y-5" aria-label="Payment">
      <fieldset>
        <legend className="text-lg font-semibold">Payment method</legend>
        <p className="text-sm text-slate-600">Test methods only — no real card is charged.</p>
        <div className="mt-3 grid gap-2">
          {PAYMENT_METHODS.map((m) => (
            <label
              key={m.token}
              className="flex cursor-pointer items-start gap-3 rounded-lg border border-slate-300 bg-white p-3 has-[:checked]:border-brand-500 has-[:checked]:bg-brand-50 has-[:focus-visible]:ring-2 has-[:focus-visible]:ring-brand-300"
            >
              <input
                type="radio"
                name="paymentMethod"
                value={m.token}
                checked={method === m.token}
                onChange={() => setMethod(m.token)}
                disabled={busy}
                className="mt-1 h-4 w-4 accent-brand-600"
              />
              <span>
                <span className="block font-medium">{m.label}</span>
                <span className="block text-sm text-slate-600">{m.hint}</span>
              </span>
            </label>
          ))}
        </div>
      </fieldset>

      {problem && (
        <div ref={problemRef} tabIndex={-1} data-testid="booking-problem">
          {problem.kind === "failure" ? (
            <ErrorState failure={problem.failure} compact onRetry={() => setProblem(undefined)} />
          ) : (
            <div role="alert" className="rounded-lg border border-red-200 bg-red-50 p-3 text-sm text-red-800">
              {problem.text}{" "}
              {problem.soldOut && (
                <a className="font-semibold underline" href={hotelHref}>
                  See other rooms
                </a>
              )}
            </div>
          )}
        </div>
      )}

      <button type="submit" className="btn-primary w-full py-3 text-base" disabled={busy} aria-describedby="book-total" data-testid="book-button">
        {busy ? "Booking…" : `Book and pay ${totalLabel}`}
      </button>
      <p id="book-total" className="text-center text-xs text-slate-500">
        Your rooms are held while the payment is confirmed.
      </p>
    </form>
  );
}
