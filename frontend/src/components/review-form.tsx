"use client";
// Review a stay after check-in: a 1–5 rating and a text, for the guest's own confirmed booking.
import { useId, useState, type FormEvent } from "react";
import { api } from "@/lib/api/endpoints";
import { describeFailure, GatewayError } from "@/lib/api/errors";
import { MAX_REVIEW_CHARS } from "@/lib/api/limits";
import { useGateway, useSession } from "./providers";

const MAX_TEXT = MAX_REVIEW_CHARS;

export function ReviewForm({ hotelId, bookingId, hotelName }: { hotelId: string; bookingId: string; hotelName: string }) {
  const gateway = useGateway();
  const { store } = useSession();
  const id = useId();
  const [rating, setRating] = useState(0);
  const [text, setText] = useState("");
  const [errors, setErrors] = useState<{ rating?: string; text?: string; form?: string }>({});
  const [state, setState] = useState<"editing" | "sending" | "sent">("editing");

  async function submit(e: FormEvent) {
    e.preventDefault();
    const found: typeof errors = {};
    if (rating < 1) found.rating = "Choose a rating from 1 to 5 stars.";
    if (text.trim().length < 3) found.text = "Tell other travellers a little about your stay.";
    setErrors(found);
    if (found.rating || found.text) {
      document.getElementById(found.rating ? `${id}-r1` : `${id}-text`)?.focus();
      return;
    }
    setState("sending");
    try {
      await store.authorized((token) => api.postReview(gateway, token, hotelId, { bookingId, rating, text: text.trim() }));
      setState("sent");
    } catch (err) {
      let message: string;
      if (err instanceof GatewayError && err.kind === "not_found" && err.code === "not_found" && /route/i.test(err.message)) {
        message = "Reviews are not open yet. Please try again later.";
      } else if (err instanceof GatewayError && err.kind === "conflict") {
        message = "You have already reviewed this stay.";
      } else {
        const f = describeFailure(err);
        message = err instanceof GatewayError && err.kind !== "server" && err.message ? err.message : `${f.title}. ${f.message}`;
      }
      setErrors({ form: message });
      setState("editing");
    }
  }

  if (state === "sent") {
    return (
      <p role="status" className="rounded-lg bg-emerald-50 p-3 text-sm text-emerald-900">
        Thank you! Your review of {hotelName} is published.
      </p>
    );
  }
  return (
    <form onSubmit={submit} noValidate className="space-y-3 rounded-lg bg-slate-50 p-3" aria-label={`Review your stay at ${hotelName}`}>
      <fieldset aria-describedby={errors.rating ? `${id}-rating-error` : undefined}>
        <legend className="label">Your rating</legend>
        <div className="flex gap-1">
          {[1, 2, 3, 4, 5].map((n) => (
            <label key={n} className="cursor-pointer">
              <input
                id={`${id}-r${n}`}
                type="radio"
                name={`${id}-rating`}
                value={n}
                checked={rating === n}
                onChange={() => setRating(n)}
                className="peer sr-only"
              />
              <span
                className={`block rounded px-1 text-2xl peer-focus-visible:ring-2 peer-focus-visible:ring-brand-500 ${n <= rating ? "text-amber-500" : "text-slate-300"}`}
                aria-hidden="true"
              >
                ★
              </span>
              <span className="sr-only">{`${n} star${n === 1 ? "" : "s"}`}</span>
            </label>
          ))}
        </div>
        {errors.rating && (
          <p id={`${id}-rating-error`} className="mt-1 text-sm font-medium text-red-700">
            {errors.rating}
          </p>
        )}
      </fieldset>
      <div>
        <label htmlFor={`${id}-text`} className="label">
          Your review
        </label>
        <textarea
          id={`${id}-text`}
          rows={3}
          maxLength={MAX_TEXT}
          value={text}
          onChange={(e) => setText(e.target.value)}
          aria-invalid={errors.text ? true : undefined}
          aria-describedby={errors.text ? `${id}-text-error` : undefined}
          className="input"
        />
        {errors.text && (
          <p id={`${id}-text-error`} className="mt-1 text-sm font-medium text-red-700">
            {errors.text}
          </p>
        )}
      </div>
      {errors.form && (
        <p role="alert" className="text-sm font-medium text-red-700">
          {errors.form}
        </p>
      )}
      <button type="submit" className="btn-primary" disabled={state === "sending"}>
        {state === "sending" ? "Sending…" : "Publish review"}
      </button>
    </form>
  );
}
