// The UI's runtime schemas (./schemas, lenient zod) checked against the generated API types
// (./openapi, from the gateway's OpenAPI document): this file type-checks only while every
// answer the document allows is one the UI's schema accepts. A field the API renames, drops or
// retypes breaks `npm run check`, not the browser.
import type * as z from "zod/mini";
import type { components } from "./openapi";
import type * as S from "./schemas";

type Wire = components["schemas"];
type Accepts<Schema extends z.ZodMiniType, Answer extends z.input<Schema>> = Answer;

export type Contract = [
  Accepts<typeof S.ErrorBody, Wire["Error"]>,
  Accepts<typeof S.User, Wire["User"]>,
  Accepts<typeof S.Session, Wire["Session"]>,
  Accepts<typeof S.Registered, Wire["Registered"]>,
  Accepts<typeof S.HotelPage, Wire["Paged_HotelHit"]>,
  Accepts<typeof S.Hotel, Wire["Hotel"]>,
  Accepts<typeof S.Availability, Wire["Availability"]>,
  Accepts<typeof S.Booking, Wire["Booking"]>,
  Accepts<typeof S.BookingPage, Wire["Paged_Booking"]>,
  Accepts<typeof S.Review, Wire["Review"]>,
  Accepts<typeof S.ReviewPage, Wire["ReviewPage"]>,
  Accepts<typeof S.Recommendations, Wire["Recommendations"]>,
  Accepts<typeof S.Notification, Wire["Notification"]>,
  Accepts<typeof S.NotificationPage, Wire["Paged_Notification"]>,
  Accepts<typeof S.Occupancy, Wire["Occupancy"]>,
];
