// Booking a room type: the stay and its price (rendered on the server from live availability),
// then the payment step, which needs a signed-in traveller.
import type { Metadata } from "next";
import Link from "next/link";
import { BookingForm } from "@/components/booking-form";
import { ErrorState } from "@/components/error-state";
import { RequireSession } from "@/components/require-session";
import { api } from "@/lib/api/endpoints";
import { attempt, serverGateway } from "@/lib/api/server";
import { formatStay, plural, roomTypeLabel } from "@/lib/format";
import { hotelHref, parseCriteria, stayOf, type RawParams } from "@/lib/search-criteria";
import { toRoomOffers } from "@/lib/view/hotels";

export const metadata: Metadata = { title: "Book your stay" };

export default async function BookPage({ searchParams }: { searchParams: Promise<RawParams> }) {
  const raw = await searchParams;
  const hotelId = typeof raw.hotelId === "string" ? raw.hotelId : undefined;
  const roomType = typeof raw.roomType === "string" ? raw.roomType : undefined;
  const stay = stayOf(parseCriteria(raw));
  if (!hotelId || !roomType || !stay) {
    return (
      <section className="card mx-auto max-w-lg p-8 text-center">
        <h1 className="text-xl font-semibold">Choose a room first</h1>
        <p className="mt-1 text-slate-600">Pick your dates and a room type on a hotel&apos;s page, then press Book.</p>
        <Link className="btn-primary mt-4" href="/">
          Search hotels
        </Link>
      </section>
    );
  }

  const gateway = serverGateway();
  const [hotel, availability] = await Promise.all([attempt(api.hotel(gateway, hotelId)), attempt(api.availability(gateway, hotelId, stay))]);
  if (!hotel.ok) return <ErrorState failure={hotel.failure} />;
  if (!availability.ok) return <ErrorState failure={availability.failure} />;
  const offer = toRoomOffers(hotelId, availability.data, stay).find((o) => o.roomType === roomType);
  const back = hotelHref(hotelId, stay);

  return (
    <div className="mx-auto max-w-4xl space-y-4">
      <p className="text-sm">
        <Link className="link" href={back}>
          ‹ Back to {hotel.data.name}
        </Link>
      </p>
      <h1 className="text-2xl font-bold">Book your stay</h1>
      <div className="grid gap-6 md:grid-cols-[1fr_20rem]">
        <aside aria-label="Your stay" className="card h-fit space-y-2 p-4 text-sm md:col-start-2 md:row-start-1">
          <h2 className="text-base font-semibold">{hotel.data.name}</h2>
          <p className="text-slate-600">{hotel.data.city}</p>
          <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1">
            <dt className="text-slate-500">Room</dt>
            <dd>{roomTypeLabel(roomType)}</dd>
            <dt className="text-slate-500">Dates</dt>
            <dd>{formatStay(stay.checkIn, stay.checkOut)}</dd>
            <dt className="text-slate-500">Nights</dt>
            <dd>{availability.data.nights}</dd>
            <dt className="text-slate-500">Guests</dt>
            <dd>
              {plural(stay.guests, "guest")}, {plural(stay.rooms, "room")}
            </dd>
          </dl>
          {offer && (
            <div className="border-t border-slate-100 pt-2">
              <p className="flex items-baseline justify-between">
                <span className="text-slate-600">Total</span>
                <span className="text-xl font-bold" data-testid="book-total-price">
                  {offer.total}
                </span>
              </p>
              <p className="text-xs text-slate-500">{offer.totalNote}</p>
            </div>
          )}
        </aside>
        <div className="md:col-start-1 md:row-start-1">
          {!offer ? (
            <p className="card p-6 text-slate-700" role="alert">
              {roomTypeLabel(roomType)} rooms at {hotel.data.name} can&apos;t take {plural(stay.guests, "guest")} in {plural(stay.rooms, "room")}.{" "}
              <Link className="link" href={back}>
                See the rooms that fit
              </Link>
            </p>
          ) : !offer.bookable ? (
            <div className="card p-6" role="alert" data-testid="sold-out">
              <h2 className="text-lg font-semibold text-red-700">Sold out</h2>
              <p className="mt-1 text-slate-700">
                {offer.name} is sold out for {formatStay(stay.checkIn, stay.checkOut)}. Try other dates or another room type.
              </p>
              <Link className="btn-secondary mt-4" href={back}>
                See other rooms
              </Link>
            </div>
          ) : (
            <RequireSession what="book this room">
              <BookingForm request={{ hotelId, roomType, ...stay }} totalLabel={offer.total} hotelHref={back} />
            </RequireSession>
          )}
        </div>
      </div>
    </div>
  );
}
