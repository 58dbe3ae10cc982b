// A manager's occupancy as the manager page shows it: one column per night of the window and
// one row per room type, each cell "booked of total" with a level for its colour.
import type { Occupancy } from "../api/schemas";
import { addDays } from "../dates";
import { formatShortDate, plural, roomTypeLabel } from "../format";

/** How full a night is: 0 (empty) to 4 (full), or closed / not yet open for sale. */
export type Level = 0 | 1 | 2 | 3 | 4 | "closed" | "unopened";

export interface NightColumn {
  iso: string;
  weekday: string;
  day: string;
  weekend: boolean;
}

export interface OccupancyCell {
  iso: string;
  text: string;
  label: string;
  level: Level;
}

export interface HotelOccupancyView {
  id: string;
  name: string;
  city: string;
  percent: string;
  summary: string;
  rows: { roomType: string; cells: OccupancyCell[] }[];
}

export interface OccupancyView {
  range: string;
  nights: NightColumn[];
  hotels: HotelOccupancyView[];
}

const weekdayFormat = new Intl.DateTimeFormat("en-GB", { weekday: "short", timeZone: "UTC" });

/** The level of a night with `booked` of `total` rooms taken. */
export function levelOf(booked: number, total: number): Exclude<Level, "closed" | "unopened"> {
  if (booked <= 0) return 0;
  if (booked >= total) return 4;
  const ratio = booked / total;
  if (ratio < 0.5) return 1;
  if (ratio < 0.8) return 2;
  return 3;
}

export function toOccupancyView(o: Occupancy): OccupancyView {
  const nights: NightColumn[] = Array.from({ length: o.days }, (_, i) => {
    const iso = addDays(o.from, i);
    const weekday = weekdayFormat.format(new Date(`${iso}T00:00:00Z`));
    return { iso, weekday, day: String(Number(iso.slice(8, 10))), weekend: weekday === "Fri" || weekday === "Sat" };
  });
  return {
    range: `${formatShortDate(o.from)} – ${formatShortDate(addDays(o.to, -1))}`,
    nights,
    hotels: o.hotels.map((h) => ({
      id: h.id,
      name: h.name,
      city: h.city,
      percent: `${Math.round(h.occupancy * 100)}%`,
      summary: `${h.bookedRoomNights} of ${plural(h.roomNights, "room-night")} booked`,
      rows: h.roomTypes.map((rt) => {
        const byNight = new Map(rt.nights.map((n) => [n.night, n]));
        return {
          roomType: roomTypeLabel(rt.name),
          cells: nights.map(({ iso }): OccupancyCell => {
            const n = byNight.get(iso);
            const date = formatShortDate(iso);
            if (!n) return { iso, text: "–", label: `${date}: not open for sale yet`, level: "unopened" };
            if (n.closed) return { iso, text: "×", label: `${date}: closed`, level: "closed" };
            return { iso, text: `${n.booked}/${n.total}`, label: `${date}: ${n.booked} of ${n.total} booked`, level: levelOf(n.booked, n.total) };
          }),
        };
      }),
    })),
  };
}
