// The gateway's public API as it arrives on the wire (DESIGN.md "Public API", the gateway's
// openapi.json). Lenient where the contract allows a field to be missing; every response is
// checked against these before the UI maps it to view types (src/lib/view).
import * as z from "zod/mini";

const int = z.number();
const list = <T extends z.ZodMiniType>(item: T) => z._default(z.array(item), []);

/** `{"error": {"code", "message", "details"}}` */
export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.optional(z.unknown()),
  }),
});

export const Role = z.string();

export const User = z.object({
  id: z.string(),
  email: z.string(),
  name: z.nullish(z.string()),
  phone: z.nullish(z.string()),
  roles: list(Role),
});
export type User = z.infer<typeof User>;

export const Session = z.object({
  accessToken: z.string(),
  expiresIn: int,
  refreshToken: z.string(),
  user: User,
});
export type Session = z.infer<typeof Session>;

export const Registered = z.object({ user: User });

/** A room type in the catalog, or with the stay's total in search results. */
export const CatalogRoomType = z.object({
  name: z.string(),
  capacity: int,
  baseRateCents: z.nullish(int),
  amenities: list(z.string()),
  totalCents: z.nullish(int),
  available: z.nullish(int),
});

export const HotelSummary = z.object({
  id: z.string(),
  name: z.string(),
  city: z.string(),
  country: z.nullish(z.string()),
  stars: z.nullish(int),
  amenities: list(z.string()),
  currency: z._default(z.string(), "EUR"),
  rating: z.nullish(z.number()),
  reviewCount: z.nullish(int),
  fromPriceCents: z.nullish(int),
  totalCents: z.nullish(int),
  nights: z.nullish(int),
  roomTypes: list(CatalogRoomType),
});
export type HotelSummary = z.infer<typeof HotelSummary>;

export const HotelPage = z.object({
  items: z.array(HotelSummary),
  total: int,
  page: int,
  pageSize: int,
});
export type HotelPage = z.infer<typeof HotelPage>;

export const Hotel = z.object({
  id: z.string(),
  name: z.string(),
  city: z.string(),
  country: z.nullish(z.string()),
  address: z.nullish(z.string()),
  stars: z.nullish(int),
  amenities: list(z.string()),
  currency: z._default(z.string(), "EUR"),
  description: z.nullish(z.string()),
  rating: z.nullish(z.number()),
  reviewCount: z.nullish(int),
  fromPriceCents: z.nullish(int),
  roomTypes: list(CatalogRoomType),
});
export type Hotel = z.infer<typeof Hotel>;

export const NightPrice = z.object({
  night: z.string(),
  priceCents: int,
  available: int,
});

export const RoomOffer = z.object({
  roomType: z.string(),
  capacity: int,
  nightlyPrices: list(NightPrice),
  totalCents: int,
  available: int,
  bookable: z.boolean(),
});
export type RoomOffer = z.infer<typeof RoomOffer>;

export const Availability = z.object({
  hotelId: z.string(),
  currency: z.string(),
  nights: int,
  roomTypes: z.array(RoomOffer),
});
export type Availability = z.infer<typeof Availability>;

export const Booking = z.object({
  id: z.string(),
  hotelId: z.string(),
  hotelName: z.nullish(z.string()),
  roomType: z.string(),
  checkIn: z.string(),
  checkOut: z.string(),
  guests: int,
  rooms: int,
  amountCents: int,
  currency: z.string(),
  status: z.string(),
  cancelReason: z.nullish(z.string()),
  paymentFailure: z.nullish(z.string()),
  paymentMethod: z.nullish(z.string()),
  holdExpiresAt: z.nullish(z.string()),
  createdAt: z.nullish(z.string()),
  updatedAt: z.nullish(z.string()),
});
export type Booking = z.infer<typeof Booking>;

export const BookingPage = z.object({
  items: z.array(Booking),
  total: int,
});
export type BookingPage = z.infer<typeof BookingPage>;

export const Review = z.object({
  id: z.string(),
  hotelId: z.nullish(z.string()),
  bookingId: z.nullish(z.string()),
  authorName: z.nullish(z.string()),
  rating: int,
  text: z.string(),
  createdAt: z.string(),
});
export type Review = z.infer<typeof Review>;

export const ReviewPage = z.object({
  items: z.array(Review),
  total: int,
});
export type ReviewPage = z.infer<typeof ReviewPage>;

/** A suggested hotel: the hotel's summary fields, its score and the reasons it was picked. */
export const Suggestion = z.extend(HotelSummary, {
  score: z.nullish(z.number()),
  reasons: list(z.object({ factor: z.string(), text: z.string() })),
});

export const Recommendations = z.object({
  /** `personal` (scored against the traveller's stays) or `popular`. */
  basis: z.string(),
  items: z.array(Suggestion),
});
export type Recommendations = z.infer<typeof Recommendations>;

export const Notification = z.object({
  id: z.string(),
  bookingId: z.nullish(z.string()),
  channel: z.string(),
  template: z.nullish(z.string()),
  recipient: z.string(),
  subject: z.nullish(z.string()),
  bodyText: z.nullish(z.string()),
  status: z.string(),
  createdAt: z.string(),
  sentAt: z.nullish(z.string()),
});
export type Notification = z.infer<typeof Notification>;

export const NotificationPage = z.object({
  items: z.array(Notification),
  total: int,
});
export type NotificationPage = z.infer<typeof NotificationPage>;

/** For answers whose body we do not read (204, logout). */
export const Ignored = z.unknown();

/** `GET /api/manager/occupancy`: the hotels a manager manages, night by night. */
export const Occupancy = z.object({
  from: z.string(),
  to: z.string(),
  days: int,
  page: int,
  pageSize: int,
  nextPage: z.nullish(int),
  hotels: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      city: z.string(),
      roomNights: int,
      bookedRoomNights: int,
      occupancy: z.number(),
      roomTypes: z.array(
        z.object({
          name: z.string(),
          nights: z.array(z.object({ night: z.string(), total: int, booked: int, available: int, closed: z.boolean() })),
        }),
      ),
    }),
  ),
});
export type Occupancy = z.infer<typeof Occupancy>;
