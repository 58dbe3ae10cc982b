// Hotels as the pages show them: wire types (src/lib/api/schemas.ts) mapped to ready-to-render
// view types, so components never do arithmetic or formatting themselves.
import type { Availability, Hotel, HotelSummary, Review, RoomOffer } from "../api/schemas";
import type { StayQuery } from "../api/endpoints";
import { amenityLabel, formatDateTime, formatMoney, formatShortDate, plural, roomTypeLabel } from "../format";
import { hotelHref, stayQueryString } from "../search-criteria";

/** A hotel in a list (results, popular, recommendations). */
export interface HotelCardView {
  id: string;
  name: string;
  location: string;
  stars: number;
  rating?: { value: string; label: string };
  amenities: string[];
  /** The big number: the stay's total, or the nightly "from" price without dates. */
  price?: { amount: string; note: string };
  /** Why it is shown (recommendations). */
  reasons: string[];
  href: string;
}

function ratingOf(rating: number | null | undefined, count: number | null | undefined): HotelCardView["rating"] {
  if (!count || rating === null || rating === undefined || rating <= 0) return undefined;
  return { value: rating.toFixed(1), label: `${rating.toFixed(1)} out of 5 from ${plural(count, "review")}` };
}

function locationOf(city: string, country: string | null | undefined): string {
  return country ? `${city}, ${country}` : city;
}

/** A search hit or popular hotel as a card; `stay` is the searched stay, if any. */
export function toHotelCard(h: HotelSummary, stay?: Partial<StayQuery>, reasons: string[] = []): HotelCardView {
  let price: HotelCardView["price"];
  if (h.totalCents !== null && h.totalCents !== undefined) {
    const nights = h.nights ?? undefined;
    const who = stay?.rooms && stay.rooms > 1 ? `, ${plural(stay.rooms, "room")}` : "";
    price = { amount: formatMoney(h.totalCents, h.currency), note: `total${nights ? ` for ${plural(nights, "night")}` : ""}${who}` };
  } else if (h.fromPriceCents) {
    price = { amount: formatMoney(h.fromPriceCents, h.currency), note: "per night, from" };
  }
  return {
    id: h.id,
    name: h.name,
    location: locationOf(h.city, h.country),
    stars: h.stars ?? 0,
    rating: ratingOf(h.rating, h.reviewCount),
    amenities: h.amenities.map(amenityLabel),
    price,
    reasons,
    href: hotelHref(h.id, stay ?? {}),
  };
}

/** One night of a room offer. */
export interface NightView {
  date: string;
  label: string;
  price: string;
  soldOut: boolean;
}

/** A room type with its prices and availability for the stay. */
export interface RoomOfferView {
  roomType: string;
  name: string;
  capacityLabel: string;
  nights: NightView[];
  total: string;
  totalNote: string;
  /** "3 rooms left", "Sold out", "Not on sale for every night". */
  availabilityLabel: string;
  soldOut: boolean;
  bookable: boolean;
  /** Few rooms left: worth a warning colour. */
  scarce: boolean;
  bookHref: string;
}

/** Availability for a stay, mapped room type by room type. */
export function toRoomOffers(hotelId: string, a: Availability, stay: StayQuery): RoomOfferView[] {
  return a.roomTypes.map((o: RoomOffer) => {
    const allNightsPriced = o.nightlyPrices.length === a.nights;
    const soldOut = o.available < stay.rooms || !allNightsPriced || o.nightlyPrices.some((n) => n.available <= 0);
    let availabilityLabel: string;
    if (!allNightsPriced) availabilityLabel = "Not on sale for every night of your stay";
    else if (soldOut) availabilityLabel = "Sold out for these dates";
    else availabilityLabel = `${plural(o.available, "room")} left`;
    return {
      roomType: o.roomType,
      name: roomTypeLabel(o.roomType),
      capacityLabel: `Sleeps ${o.capacity}`,
      nights: o.nightlyPrices.map((n) => ({
        date: n.night,
        label: formatShortDate(n.night),
        price: formatMoney(n.priceCents, a.currency),
        soldOut: n.available <= 0,
      })),
      total: formatMoney(o.totalCents, a.currency),
      totalNote: `total for ${plural(a.nights, "night")}${stay.rooms > 1 ? `, ${plural(stay.rooms, "room")}` : ""}`,
      availabilityLabel,
      soldOut,
      bookable: o.bookable && !soldOut,
      scarce: !soldOut && o.available <= 3,
      bookHref: `/book${stayQueryString(stay)}&hotelId=${encodeURIComponent(hotelId)}&roomType=${encodeURIComponent(o.roomType)}`,
    };
  });
}

/** A room type without dates: its capacity and base rate. */
export interface CatalogRoomView {
  name: string;
  capacityLabel: string;
  fromPrice?: string;
  amenities: string[];
}

/** The hotel page's header and facts. */
export interface HotelDetailView {
  id: string;
  name: string;
  location: string;
  address?: string;
  stars: number;
  rating?: { value: string; label: string };
  description?: string;
  amenities: string[];
  currency: string;
  rooms: CatalogRoomView[];
}

export function toHotelDetail(h: Hotel): HotelDetailView {
  return {
    id: h.id,
    name: h.name,
    location: locationOf(h.city, h.country),
    address: h.address || undefined,
    stars: h.stars ?? 0,
    rating: ratingOf(h.rating, h.reviewCount),
    description: h.description || undefined,
    amenities: h.amenities.map(amenityLabel),
    currency: h.currency,
    rooms: h.roomTypes.map((r) => ({
      name: roomTypeLabel(r.name),
      capacityLabel: `Sleeps ${r.capacity}`,
      fromPrice: r.baseRateCents ? `${formatMoney(r.baseRateCents, h.currency)} / night` : undefined,
      amenities: r.amenities.map(amenityLabel),
    })),
  };
}

/** A review as shown on the hotel page. */
export interface ReviewView {
  id: string;
  author: string;
  rating: number;
  text: string;
  posted: string;
}

export function toReview(r: Review): ReviewView {
  return { id: r.id, author: r.authorName || "A guest", rating: r.rating, text: r.text, posted: formatDateTime(r.createdAt) };
}
