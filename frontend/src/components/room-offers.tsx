// Room types for the chosen stay: capacity, nightly and total price, rooms left, and Book.
import Link from "next/link";
import type { RoomOfferView } from "@/lib/view/hotels";

export function RoomOffers({ offers, hotelName }: { offers: RoomOfferView[]; hotelName: string }) {
  if (offers.length === 0) {
    return (
      <p className="card p-6 text-center text-slate-600" data-testid="no-rooms">
        No room type at {hotelName} fits your party for these dates. Try fewer guests per room or other dates.
      </p>
    );
  }
  return (
    <ul className="grid gap-4">
      {offers.map((o) => (
        <li key={o.roomType} className="card p-4" data-testid="room-offer" data-room-type={o.roomType} data-sold-out={o.soldOut}>
          <div className="flex flex-wrap items-start justify-between gap-4">
            <div>
              <h3 className="text-lg font-semibold">{o.name}</h3>
              <p className="text-sm text-slate-600">{o.capacityLabel}</p>
              <p
                className={`mt-1 text-sm font-medium ${o.soldOut ? "text-red-700" : o.scarce ? "text-amber-700" : "text-brand-700"}`}
                data-testid="room-availability"
              >
                {o.availabilityLabel}
              </p>
            </div>
            <div className="text-right">
              <p className="text-2xl font-bold" data-testid="room-total">
                {o.total}
              </p>
              <p className="text-xs text-slate-500">{o.totalNote}</p>
              {o.bookable ? (
                <Link href={o.bookHref} className="btn-primary mt-2" aria-label={`Book ${o.name}`}>
                  Book
                </Link>
              ) : (
                <span className="btn mt-2 cursor-not-allowed bg-slate-100 text-slate-500" aria-disabled="true">
                  Sold out
                </span>
              )}
            </div>
          </div>
          {o.nights.length > 0 && (
            <details className="mt-3 text-sm">
              <summary className="cursor-pointer text-brand-700">Price per night</summary>
              <ul className="mt-2 grid grid-cols-2 gap-x-6 gap-y-1 sm:grid-cols-3">
                {o.nights.map((n) => (
                  <li key={n.date} className="flex justify-between gap-2 border-b border-slate-100 py-1">
                    <span className="text-slate-600">{n.label}</span>
                    <span className={n.soldOut ? "text-red-700" : ""}>{n.soldOut ? "Sold out" : n.price}</span>
                  </li>
                ))}
              </ul>
            </details>
          )}
        </li>
      ))}
    </ul>
  );
}
