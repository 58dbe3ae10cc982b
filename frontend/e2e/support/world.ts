// A small seeded world for a test file: a city of its own with a few hotels, and a stay.
import { isoDay, unique } from "./stack";
import { removeHotels, seedHotel, waitForSearch, type SeedHotel } from "./seed";

export interface World {
  city: string;
  hotels: SeedHotel[];
  stay: { checkIn: string; checkOut: string; guests: number; rooms: number };
}

/** Seed `hotels` (ids and city made unique) and wait until search has them for the stay. */
export async function seedWorld(cityName: string, hotels: Omit<SeedHotel, "id" | "city">[], startInDays = 21, nights = 2): Promise<World> {
  const tag = unique("t").slice(2);
  const city = `${cityName} ${tag}`;
  const seeded = hotels.map((h, i) => ({ ...h, id: `${unique("h")}-${i}`, city }));
  for (const h of seeded) await seedHotel(h);
  const stay = { checkIn: isoDay(startInDays), checkOut: isoDay(startInDays + nights), guests: 2, rooms: 1 };
  await waitForSearch(city, seeded.length, stay);
  return { city, hotels: seeded, stay };
}

/** The query string of a stay. */
export function stayQuery(stay: World["stay"]): string {
  return new URLSearchParams({ checkIn: stay.checkIn, checkOut: stay.checkOut, guests: String(stay.guests), rooms: String(stay.rooms) }).toString();
}

/** Remove the world's hotels from sale (call in afterAll). */
export async function removeWorld(world: World | undefined): Promise<void> {
  if (world) await removeHotels(world.hotels.map((h) => h.id));
}
