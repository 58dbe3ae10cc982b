// The stay rules the API enforces, checked in the browser first so mistakes show at once. The
// guest and room limits come from the API's OpenAPI document (./api/limits, generated).
import { nightsBetween } from "./format";
import { isIsoDate } from "./dates";
import { MAX_GUESTS, MAX_ROOMS } from "./api/limits";

export { MAX_GUESTS, MAX_ROOMS };
export const MAX_NIGHTS = 30;

export interface StayInput {
  checkIn: string;
  checkOut: string;
  guests: number;
  rooms: number;
}

/** Field → message for every rule `s` breaks; empty when the stay is fine. */
export function stayProblems(s: StayInput, today: string, datesRequired: boolean): Record<string, string> {
  const problems: Record<string, string> = {};
  const hasIn = s.checkIn !== "";
  const hasOut = s.checkOut !== "";
  if (datesRequired || hasIn || hasOut) {
    if (!isIsoDate(s.checkIn)) problems.checkIn = "Choose a check-in date.";
    else if (s.checkIn < today) problems.checkIn = "Check-in can't be in the past.";
    if (!isIsoDate(s.checkOut)) problems.checkOut = "Choose a check-out date.";
    else if (isIsoDate(s.checkIn)) {
      const nights = nightsBetween(s.checkIn, s.checkOut);
      if (nights < 1) problems.checkOut = "Check-out must be after check-in.";
      else if (nights > MAX_NIGHTS) problems.checkOut = `A stay can be at most ${MAX_NIGHTS} nights.`;
    }
  }
  if (!Number.isInteger(s.guests) || s.guests < 1 || s.guests > MAX_GUESTS) problems.guests = `Guests must be between 1 and ${MAX_GUESTS}.`;
  if (!Number.isInteger(s.rooms) || s.rooms < 1 || s.rooms > MAX_ROOMS) problems.rooms = `Rooms must be between 1 and ${MAX_ROOMS}.`;
  else if (!problems.guests && s.rooms > s.guests) problems.rooms = "You need at least one guest per room.";
  return problems;
}
