// A hotel: its facts, room types with prices and availability for the chosen stay, and
// reviews. Rendered on the server with live availability (never cached).
import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { cache } from "react";
import { ErrorState } from "@/components/error-state";
import { ReviewsList } from "@/components/reviews-list";
import { RoomOffers } from "@/components/room-offers";
import { StayForm } from "@/components/stay-form";
import { RatingBadge, Stars } from "@/components/stars";
import { api } from "@/lib/api/endpoints";
import { attempt, serverGateway } from "@/lib/api/server";
import { todayIso } from "@/lib/dates";
import { formatStay, plural } from "@/lib/format";
import { parseCriteria, stayOf, stayQueryString, type RawParams } from "@/lib/search-criteria";
import { toHotelDetail, toReview, toRoomOffers } from "@/lib/view/hotels";

type Props = { params: Promise<{ id: string }>; searchParams: Promise<RawParams> };

/** One hotel fetch per request, shared by the metadata and the page. */
const loadHotel = cache((id: string) => attempt(api.hotel(serverGateway(), id)));

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  const hotel = await loadHotel(id);
  return { title: hotel.ok ? hotel.data.name : "Hotel" };
}

export default async function HotelPage({ params, searchParams }: Props) {
  const { id } = await params;
  const criteria = parseCriteria(await searchParams);
  const stay = stayOf(criteria);
  const gateway = serverGateway();
  const [hotel, availability, reviews] = await Promise.all([
    loadHotel(id),
    stay ? attempt(api.availability(gateway, id, stay)) : Promise.resolve(undefined),
    attempt(api.reviews(gateway, id)),
  ]);

  if (!hotel.ok) {
    if (hotel.failure.kind === "not_found") notFound();
    return <ErrorState failure={hotel.failure} />;
  }
  const h = toHotelDetail(hotel.data);
  const path = `/hotels/${encodeURIComponent(id)}`;

  return (
    <div className="space-y-8">
      <header className="space-y-2">
        <p className="text-sm text-slate-600">
          <Link className="link" href={`/hotels?city=${encodeURIComponent(hotel.data.city)}`}>
            Hotels in {hotel.data.city}
          </Link>
        </p>
        <h1 className="text-3xl font-bold tracking-tight">{h.name}</h1>
        <div className="flex flex-wrap items-center gap-x-3 gap-y-1 text-slate-600">
          <Stars count={h.stars} />
          <span>{h.address ? `${h.address}, ${h.location}` : h.location}</span>
          <RatingBadge rating={h.rating} />
        </div>
        {h.description && <p className="max-w-3xl text-slate-700">{h.description}</p>}
        {h.amenities.length > 0 && (
          <ul className="flex flex-wrap gap-1.5" aria-label="Amenities">
            {h.amenities.map((a) => (
              <li key={a} className="rounded-full bg-white px-2.5 py-1 text-xs text-slate-700 ring-1 ring-slate-200">
                {a}
              </li>
            ))}
          </ul>
        )}
      </header>

      <section aria-labelledby="rooms-title" className="space-y-4">
        <div className="card p-4">
          <h2 id="rooms-title" className="mb-3 text-xl font-semibold">
            Rooms and prices
          </h2>
          <StayForm key={stayQueryString(criteria)} action={path} today={todayIso()} initial={criteria} />
        </div>
        {!stay ? (
          <>
            <p className="text-slate-600">Choose your dates to see the total price and how many rooms are left.</p>
            <ul className="grid gap-3 sm:grid-cols-2">
              {h.rooms.map((r) => (
                <li key={r.name} className="card p-4">
                  <h3 className="font-semibold">{r.name}</h3>
                  <p className="text-sm text-slate-600">{r.capacityLabel}</p>
                  {r.fromPrice && <p className="mt-1 text-sm">From {r.fromPrice}</p>}
                </li>
              ))}
            </ul>
          </>
        ) : availability && !availability.ok ? (
          <ErrorState failure={availability.failure} compact />
        ) : availability ? (
          <>
            <p className="text-sm text-slate-600" data-testid="stay-summary">
              {formatStay(stay.checkIn, stay.checkOut)} · {plural(availability.data.nights, "night")} · {plural(stay.guests, "guest")},{" "}
              {plural(stay.rooms, "room")}
            </p>
            <RoomOffers offers={toRoomOffers(id, availability.data, stay)} hotelName={h.name} />
          </>
        ) : null}
      </section>

      <section aria-labelledby="reviews-title" className="space-y-3">
        <h2 id="reviews-title" className="text-xl font-semibold">
          Guest reviews
        </h2>
        {reviews.ok ? (
          <ReviewsList reviews={reviews.data.items.map(toReview)} total={reviews.data.total} />
        ) : reviews.failure.kind === "not_found" ? (
          <p className="card p-6 text-center text-slate-600" data-testid="reviews-unavailable">
            Reviews are not available yet.
          </p>
        ) : (
          <ErrorState failure={reviews.failure} compact />
        )}
      </section>
    </div>
  );
}
