// The results page's URL is its state: `/hotels?city=Lisbon&checkIn=…&stars=4,5&page=2`.
// This module reads that URL into SearchCriteria (ignoring values that make no sense), turns
// criteria into the API query, and writes links that change one thing at a time.
import type { HotelSearch, StayQuery } from "./api/endpoints";
import { isIsoDate } from "./dates";

/** The sort orders the UI offers, as the API spells them. */
export const SORT_OPTIONS = [
  { value: "popularity", label: "Most popular" },
  { value: "price", label: "Price: low to high" },
  { value: "-price", label: "Price: high to low" },
  { value: "rating", label: "Best rated" },
] as const;
export type SortOption = (typeof SORT_OPTIONS)[number]["value"];

/** Amenities always offered as filters (plus any seen in the results). */
export const COMMON_AMENITIES = ["wifi", "breakfast", "pool", "parking", "gym", "spa", "air-conditioning", "pet-friendly"];

export const DEFAULT_PAGE_SIZE = 10;
export const MAX_GUESTS = 50;
export const MAX_ROOMS = 9;

/** What the traveller searched for. Prices are in major units (euros), as typed. */
export interface SearchCriteria {
  city: string;
  checkIn?: string;
  checkOut?: string;
  guests: number;
  rooms: number;
  minPrice?: number;
  maxPrice?: number;
  amenities: string[];
  minRating?: number;
  stars: number[];
  sort: SortOption;
  page: number;
  pageSize: number;
}

/** Next.js `searchParams`. */
export type RawParams = Record<string, string | string[] | undefined>;

function first(raw: RawParams, key: string): string | undefined {
  const v = raw[key];
  const s = Array.isArray(v) ? v[0] : v;
  return s?.trim() || undefined;
}

function all(raw: RawParams, key: string): string[] {
  const v = raw[key];
  const values = Array.isArray(v) ? v : v ? [v] : [];
  return values
    .flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter(Boolean);
}

function intIn(text: string | undefined, lo: number, hi: number): number | undefined {
  if (!text || !/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= lo && n <= hi ? n : undefined;
}

function amount(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const n = Number(text);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** Criteria from the URL; anything malformed falls back to its default. */
export function parseCriteria(raw: RawParams): SearchCriteria {
  const checkIn = first(raw, "checkIn");
  const checkOut = first(raw, "checkOut");
  const datesOk = isIsoDate(checkIn) && isIsoDate(checkOut);
  const sort = first(raw, "sort");
  const rating = amount(first(raw, "minRating"));
  return {
    city: first(raw, "city") ?? "",
    checkIn: datesOk ? checkIn : undefined,
    checkOut: datesOk ? checkOut : undefined,
    guests: intIn(first(raw, "guests"), 1, MAX_GUESTS) ?? 2,
    rooms: intIn(first(raw, "rooms"), 1, MAX_ROOMS) ?? 1,
    minPrice: amount(first(raw, "minPrice")),
    maxPrice: amount(first(raw, "maxPrice")),
    amenities: [...new Set(all(raw, "amenities").map((a) => a.toLowerCase()))].sort(),
    minRating: rating !== undefined && rating <= 5 ? rating : undefined,
    stars: [
      ...new Set(
        all(raw, "stars")
          .map((s) => intIn(s, 1, 5))
          .filter((s): s is number => s !== undefined),
      ),
    ].sort(),
    sort: SORT_OPTIONS.some((o) => o.value === sort) ? (sort as SortOption) : "popularity",
    page: intIn(first(raw, "page"), 1, 100_000) ?? 1,
    pageSize: intIn(first(raw, "pageSize"), 1, 50) ?? DEFAULT_PAGE_SIZE,
  };
}

/** Whether the criteria name a complete stay (both dates). */
export function hasStay(c: SearchCriteria): c is SearchCriteria & { checkIn: string; checkOut: string } {
  return Boolean(c.checkIn && c.checkOut);
}

/** The API query for these criteria (prices converted to minor units). */
export function toApiSearch(c: SearchCriteria, minorPerMajor = 100): HotelSearch {
  return {
    city: c.city || undefined,
    checkIn: c.checkIn,
    checkOut: c.checkOut,
    guests: c.guests,
    rooms: c.rooms,
    minPrice: c.minPrice === undefined ? undefined : Math.round(c.minPrice * minorPerMajor),
    maxPrice: c.maxPrice === undefined ? undefined : Math.round(c.maxPrice * minorPerMajor),
    amenities: c.amenities,
    minRating: c.minRating,
    stars: c.stars,
    sort: c.sort,
    page: c.page,
    pageSize: c.pageSize,
  };
}

/** The stay part of the criteria, when complete. */
export function stayOf(c: SearchCriteria): StayQuery | undefined {
  return hasStay(c) ? { checkIn: c.checkIn, checkOut: c.checkOut, guests: c.guests, rooms: c.rooms } : undefined;
}

function params(entries: Record<string, string | number | undefined | readonly (string | number)[]>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(entries)) {
    if (v === undefined || v === "") continue;
    if (Array.isArray(v)) {
      if (v.length) p.set(k, v.join(","));
    } else {
      p.set(k, String(v));
    }
  }
  const s = p.toString();
  return s ? `?${s}` : "";
}

/** The results URL for `c` with `changes` applied (defaults are left out of the URL). */
export function resultsHref(c: SearchCriteria, changes: Partial<SearchCriteria> = {}): string {
  const n = { ...c, ...changes };
  return (
    "/hotels" +
    params({
      city: n.city,
      checkIn: n.checkIn,
      checkOut: n.checkOut,
      guests: n.guests,
      rooms: n.rooms,
      minPrice: n.minPrice,
      maxPrice: n.maxPrice,
      amenities: n.amenities,
      minRating: n.minRating,
      stars: n.stars,
      sort: n.sort === "popularity" ? undefined : n.sort,
      page: n.page > 1 ? n.page : undefined,
      pageSize: n.pageSize === DEFAULT_PAGE_SIZE ? undefined : n.pageSize,
    })
  );
}

/** The query string carrying a stay to another page (`?checkIn=…&checkOut=…&guests=2&rooms=1`). */
export function stayQueryString(stay: Partial<StayQuery> & { guests?: number; rooms?: number }): string {
  return params({ checkIn: stay.checkIn, checkOut: stay.checkOut, guests: stay.guests, rooms: stay.rooms });
}

/** The hotel page's URL, carrying the stay. */
export function hotelHref(id: string, stay: Partial<StayQuery>): string {
  return `/hotels/${encodeURIComponent(id)}${stayQueryString(stay)}`;
}
