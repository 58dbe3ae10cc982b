// A hotel in a list: name, stars, rating, amenities and the price for the chosen stay.
import Link from "next/link";
import type { HotelCardView } from "@/lib/view/hotels";
import { RatingBadge, Stars } from "./stars";

export function HotelCard({ hotel, headingLevel = 3 }: { hotel: HotelCardView; headingLevel?: 2 | 3 }) {
  const Heading = headingLevel === 2 ? "h2" : "h3";
  return (
    <article className="card flex flex-col gap-3 p-4 transition-shadow hover:shadow-md sm:flex-row sm:items-stretch" data-testid="hotel-card">
      <div
        aria-hidden="true"
        className="hidden h-auto w-32 shrink-0 rounded-lg bg-gradient-to-br from-brand-100 via-brand-50 to-amber-50 sm:grid sm:place-items-center"
      >
        <span className="text-3xl font-bold text-brand-700/60">{hotel.name.charAt(0)}</span>
      </div>
      <div className="min-w-0 flex-1">
        <Heading className="text-lg font-semibold leading-snug text-slate-900">
          <Link href={hotel.href} className="hover:underline focus-visible:underline" data-testid="hotel-name">
            {hotel.name}
          </Link>
        </Heading>
        <p className="mt-0.5 flex flex-wrap items-center gap-x-2 text-sm text-slate-600">
          <span>{hotel.location}</span>
          <Stars count={hotel.stars} />
        </p>
        <div className="mt-2">
          <RatingBadge rating={hotel.rating} />
        </div>
        {hotel.amenities.length > 0 && (
          <ul className="mt-2 flex flex-wrap gap-1.5" aria-label="Amenities">
            {hotel.amenities.slice(0, 6).map((a) => (
              <li key={a} className="rounded-full bg-slate-100 px-2 py-0.5 text-xs text-slate-700">
                {a}
              </li>
            ))}
          </ul>
        )}
        {hotel.reasons.length > 0 && <p className="mt-2 text-sm text-brand-800">{hotel.reasons.join(" · ")}</p>}
      </div>
      <div className="flex items-end justify-between gap-3 border-t border-slate-100 pt-3 sm:flex-col sm:items-end sm:border-t-0 sm:pt-0">
        {hotel.price ? (
          <p className="text-right">
            <span className="block text-2xl font-bold text-slate-900" data-testid="hotel-price">
              {hotel.price.amount}
            </span>
            <span className="block text-xs text-slate-500">{hotel.price.note}</span>
          </p>
        ) : (
          <span className="text-sm text-slate-500">Choose dates for prices</span>
        )}
        <Link href={hotel.href} className="btn-primary whitespace-nowrap" aria-label={`See rooms at ${hotel.name}`}>
          See rooms
        </Link>
      </div>
    </article>
  );
}
