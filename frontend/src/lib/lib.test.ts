// Unit tests of the pure pieces (run by the Playwright runner's "unit" project, no browser).
import { expect, test } from "@playwright/test";
import { parseRetryAfter } from "./api/errors";
import { contentSecurityPolicy, freshNonce } from "./csp";
import { withQuery } from "./api/client";
import { formatMoney, nightsBetween } from "./format";
import { safeNext } from "./safe-next";
import { parseCriteria, resultsHref, toApiSearch } from "./search-criteria";
import { stayProblems } from "./stay-rules";
import { toBookingView } from "./view/bookings";
import { levelOf, toOccupancyView } from "./view/occupancy";
import type { Booking } from "./api/schemas";

test("the results URL round-trips, dropping defaults and nonsense", () => {
  const c = parseCriteria({
    city: "Lisbon",
    checkIn: "2027-05-01",
    checkOut: "2027-05-03",
    stars: ["4", "5,9"],
    amenities: "Pool,wifi",
    sort: "-price",
    page: "2",
    guests: "x",
  });
  expect(c).toMatchObject({ city: "Lisbon", stars: [4, 5], amenities: ["pool", "wifi"], sort: "-price", page: 2, guests: 2, pageSize: 10 });
  expect(parseCriteria(Object.fromEntries(new URL(`http://x${resultsHref(c)}`).searchParams))).toEqual(c);
  expect(resultsHref(c, { page: 1 })).not.toContain("page=");
  expect(parseCriteria({ checkIn: "2027-02-30", checkOut: "2027-03-02" }).checkIn).toBeUndefined();
});

test("prices typed in euros reach the API in cents", () => {
  const api = toApiSearch(parseCriteria({ minPrice: "150", maxPrice: "249.5" }));
  expect([api.minPrice, api.maxPrice]).toEqual([15_000, 24_950]);
  expect(withQuery("/api/hotels", { city: "Faro", stars: [4, 5], amenities: [], minRating: undefined })).toBe("/api/hotels?city=Faro&stars=4%2C5");
});

test("Retry-After is read as seconds or as a date", () => {
  expect(parseRetryAfter("7")).toBe(7);
  expect(parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 0, 30)).toUTCString(), Date.UTC(2030, 0, 1))).toBe(30);
  expect(parseRetryAfter(null)).toBeUndefined();
});

test("stay rules match the API's", () => {
  const ok = { checkIn: "2027-05-01", checkOut: "2027-05-03", guests: 2, rooms: 1 };
  expect(stayProblems(ok, "2027-04-01", true)).toEqual({});
  expect(stayProblems({ ...ok, checkIn: "2027-03-01" }, "2027-04-01", true)).toHaveProperty("checkIn");
  expect(stayProblems({ ...ok, checkOut: "2027-05-01" }, "2027-04-01", true).checkOut).toBe("Check-out must be after check-in.");
  expect(stayProblems({ ...ok, checkOut: "2027-06-15" }, "2027-04-01", true).checkOut).toContain("30 nights");
  expect(stayProblems({ ...ok, guests: 1, rooms: 2 }, "2027-04-01", true).rooms).toContain("one guest per room");
  expect(nightsBetween("2027-03-27", "2027-03-29")).toBe(2); // across a DST change
});

test("money uses the currency's minor units", () => {
  expect(formatMoney(24_000, "EUR")).toBe("€240");
  expect(formatMoney(24_050, "EUR")).toBe("€240.50");
  expect(formatMoney(5_000, "JPY")).toBe("JP¥5,000");
});

test("sign-in only ever returns to a path on this site", () => {
  expect(safeNext("/bookings?x=1")).toBe("/bookings?x=1");
  for (const evil of ["//evil.example", "https://evil.example", "/\\evil.example", null]) expect(safeNext(evil)).toBe("/");
});

test("a declined payment explains itself and offers a retry; a guest cancellation does not", () => {
  const base: Booking = {
    id: "b1",
    hotelId: "h1",
    hotelName: "Riverside",
    roomType: "double",
    checkIn: "2027-05-01",
    checkOut: "2027-05-03",
    guests: 2,
    rooms: 1,
    amountCents: 24_000,
    currency: "EUR",
    status: "CANCELLED",
    cancelReason: "payment_failed",
    paymentFailure: "declined",
  };
  const declined = toBookingView(base, "2027-04-01");
  expect(declined.statusLabel).toBe("Payment failed");
  expect(declined.explanation).toContain("Your card was declined.");
  expect(declined.retryHref).toContain("roomType=double");
  const byGuest = toBookingView({ ...base, cancelReason: "guest", paymentFailure: null }, "2027-04-01");
  expect([byGuest.statusLabel, byGuest.retryHref, byGuest.canCancel]).toEqual(["Cancelled", undefined, false]);
  const confirmed = toBookingView({ ...base, status: "CONFIRMED", cancelReason: null }, "2027-05-01");
  expect([confirmed.canCancel, confirmed.canReview]).toEqual([false, true]);
});

test("occupancy cells line up with the window's nights, with levels and labels", () => {
  const view = toOccupancyView({
    from: "2027-05-06",
    to: "2027-05-09",
    days: 3,
    page: 1,
    pageSize: 100,
    nextPage: null,
    hotels: [
      {
        id: "h",
        name: "H",
        city: "Braga",
        roomNights: 5,
        bookedRoomNights: 1,
        occupancy: 0.2,
        roomTypes: [
          {
            name: "double-deluxe",
            nights: [
              { night: "2027-05-07", total: 2, booked: 2, available: 0, closed: false },
              { night: "2027-05-08", total: 3, booked: 1, available: 2, closed: true },
            ],
          },
        ],
      },
    ],
  });
  expect(view.nights.map((n) => [n.weekday, n.day, n.weekend])).toEqual([
    ["Thu", "6", false],
    ["Fri", "7", true],
    ["Sat", "8", true],
  ]);
  const [hotel] = view.hotels;
  expect([hotel!.percent, hotel!.summary]).toEqual(["20%", "1 of 5 room-nights booked"]);
  expect(hotel!.rows[0]!.roomType).toBe("Double deluxe");
  expect(hotel!.rows[0]!.cells.map((c) => [c.text, c.level])).toEqual([
    ["–", "unopened"],
    ["2/2", 4],
    ["×", "closed"],
  ]);
  expect([levelOf(0, 4), levelOf(1, 4), levelOf(2, 4), levelOf(7, 8), levelOf(5, 4)]).toEqual([0, 1, 2, 3, 4]);
});

test("the page policy runs only this response's scripts, frames nowhere and calls only the gateway", () => {
  const nonce = freshNonce();
  expect(atob(nonce)).toHaveLength(16);
  expect(freshNonce()).not.toEqual(nonce);
  const policy = contentSecurityPolicy({ nonce, gatewayUrl: "https://api.tripnest.example/", dev: false });
  const directive = (name: string) => policy.split("; ").find((d) => d.startsWith(`${name} `));
  expect(directive("script-src")).toBe(`script-src 'self' 'nonce-${nonce}' 'strict-dynamic'`);
  expect(directive("style-src")).toBe(`style-src 'self' 'nonce-${nonce}'`);
  expect(directive("connect-src")).toBe("connect-src 'self' https://api.tripnest.example");
  expect(directive("frame-ancestors")).toBe("frame-ancestors 'none'");
  expect(directive("object-src")).toBe("object-src 'none'");
  expect(policy).not.toContain("unsafe");
  const dev = contentSecurityPolicy({ nonce, gatewayUrl: "http://127.0.0.1:8080", dev: true });
  expect(dev).toContain("'unsafe-eval'");
  expect(dev).toContain("connect-src 'self' http://127.0.0.1:8080 ws:");
});
