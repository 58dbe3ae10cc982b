// Every public endpoint the UI uses, typed end to end. Each takes the Gateway it runs on, so
// the same function serves SSR (server gateway URL) and the browser (public URL + token).
import type { Gateway } from "./client";
import type { components } from "./openapi";
import * as S from "./schemas";

type Schemas = components["schemas"];

/** Search parameters as the API takes them (prices in minor units). */
export interface HotelSearch {
  city?: string;
  checkIn?: string;
  checkOut?: string;
  guests?: number;
  rooms?: number;
  minPrice?: number;
  maxPrice?: number;
  amenities?: readonly string[];
  minRating?: number;
  stars?: readonly number[];
  sort?: string;
  page?: number;
  pageSize?: number;
}

/** A stay: dates, guests and rooms. */
export interface StayQuery {
  checkIn: string;
  checkOut: string;
  guests: number;
  rooms: number;
}

/** The body of `POST /api/bookings`. */
export type BookingRequest = Schemas["BookingRequest"];

const hotelPath = (id: string) => `/api/hotels/${encodeURIComponent(id)}`;
const bookingPath = (id: string) => `/api/bookings/${encodeURIComponent(id)}`;

export const api = {
  register: (g: Gateway, body: Schemas["Registration"]) => g.request("/api/auth/register", { method: "POST", body, schema: S.Registered }),
  login: (g: Gateway, body: Schemas["Credentials"]) => g.request("/api/auth/login", { method: "POST", body, schema: S.Session }),
  refresh: (g: Gateway, refreshToken: string) => g.request("/api/auth/refresh", { method: "POST", body: { refreshToken }, schema: S.Session }),
  logout: (g: Gateway, refreshToken: string) => g.request("/api/auth/logout", { method: "POST", body: { refreshToken }, schema: S.Ignored }),

  searchHotels: (g: Gateway, q: HotelSearch, signal?: AbortSignal) => g.request("/api/hotels", { query: { ...q }, schema: S.HotelPage, signal }),
  hotel: (g: Gateway, id: string) => g.request(hotelPath(id), { schema: S.Hotel }),
  availability: (g: Gateway, id: string, stay: StayQuery, signal?: AbortSignal) =>
    g.request(`${hotelPath(id)}/availability`, { query: { ...stay }, schema: S.Availability, signal }),
  reviews: (g: Gateway, id: string, page = 1, pageSize = 10) => g.request(`${hotelPath(id)}/reviews`, { query: { page, pageSize }, schema: S.ReviewPage }),
  postReview: (g: Gateway, token: string, hotelId: string, body: Schemas["NewReview"]) =>
    g.request(`${hotelPath(hotelId)}/reviews`, { method: "POST", token, body, schema: S.Review }),

  createBooking: (g: Gateway, token: string, idempotencyKey: string, body: BookingRequest) =>
    g.request("/api/bookings", { method: "POST", token, idempotencyKey, body, schema: S.Booking }),
  bookings: (g: Gateway, token: string, page = 1, pageSize = 20) => g.request("/api/bookings", { token, query: { page, pageSize }, schema: S.BookingPage }),
  booking: (g: Gateway, token: string, id: string, signal?: AbortSignal) => g.request(bookingPath(id), { token, schema: S.Booking, signal }),
  cancelBooking: (g: Gateway, token: string, id: string) => g.request(`${bookingPath(id)}/cancel`, { method: "POST", token, schema: S.Booking }),

  recommendations: (g: Gateway, token: string | undefined, limit = 6) =>
    g.request("/api/recommendations", { token, query: { limit }, schema: S.Recommendations }),
  notifications: (g: Gateway, token: string, page = 1, pageSize = 20) =>
    g.request("/api/notifications", { token, query: { page, pageSize }, schema: S.NotificationPage }),
  occupancy: (g: Gateway, token: string, days = 30) => g.request("/api/manager/occupancy", { token, query: { days, pageSize: 100 }, schema: S.Occupancy }),
};
