// Seeding hotels as a hotel manager's YAML would (through booking's internal API, like the
// operator), and waiting until search has indexed them.
import { expect, request } from "@playwright/test";
import { stack } from "./stack";

export interface SeedRoomType {
  name: string;
  capacity: number;
  baseRateCents: number;
  rooms: number;
}

export interface SeedHotel {
  id: string;
  name: string;
  city: string;
  stars: number;
  amenities: string[];
  roomTypes: SeedRoomType[];
  description?: string;
  /** Emails that see the hotel's occupancy (the Hotel resource's spec.managers). */
  managers?: string[];
}

async function internal() {
  return request.newContext({ extraHTTPHeaders: { Authorization: `Bearer ${stack.internalToken()}` } });
}

/** Put the hotel in the catalog and open its inventory for the next 60 nights, flat prices. */
export async function seedHotel(h: SeedHotel): Promise<void> {
  const api = await internal();
  try {
    const hotel = await api.put(`${stack.bookingUrl}/internal/hotels/${h.id}`, {
      data: {
        name: h.name,
        city: h.city,
        country: "PT",
        address: "Rua das Flores 12",
        stars: h.stars,
        currency: "EUR",
        amenities: h.amenities,
        description: h.description ?? `${h.name} is a test hotel seeded by the web UI tests.`,
        roomTypes: h.roomTypes.map((r) => ({ name: r.name, capacity: r.capacity, baseRateCents: r.baseRateCents })),
        managers: h.managers ?? [],
      },
    });
    expect(hotel.status(), `PUT hotel ${h.id}: ${await hotel.text()}`).toBeLessThan(300);
    for (const r of h.roomTypes) {
      const inv = await api.put(`${stack.bookingUrl}/internal/inventory/${h.id}/${r.name}`, {
        data: { rooms: r.rooms, horizonDays: 60, pricing: { weekendMultiplier: 1.0 } },
      });
      expect(inv.status(), `PUT inventory ${h.id}/${r.name}: ${await inv.text()}`).toBeLessThan(300);
    }
  } finally {
    await api.dispose();
  }
}

/** Take seeded hotels off sale again (past bookings stay), so test runs leave no hotels behind. */
export async function removeHotels(ids: string[]): Promise<void> {
  const api = await internal();
  try {
    for (const id of ids) {
      const r = await api.delete(`${stack.bookingUrl}/internal/hotels/${id}`);
      expect(r.status(), `DELETE hotel ${id}: ${await r.text()}`).toBeLessThan(300);
    }
  } finally {
    await api.dispose();
  }
}

/** Wait until a dated search for `city` through the gateway finds `count` hotels. */
export async function waitForSearch(city: string, count: number, stay: { checkIn: string; checkOut: string }) {
  const api = await request.newContext();
  try {
    await expect
      .poll(
        async () => {
          const r = await api.get(`${stack.gatewayUrl}/api/hotels`, { params: { city, ...stay, pageSize: 50 } });
          return r.ok() ? ((await r.json()) as { total: number }).total : -r.status();
        },
        { message: `search indexes ${count} hotels in ${city}`, timeout: 30_000 },
      )
      .toBe(count);
  } finally {
    await api.dispose();
  }
}

/** Create an account with a role through user's internal API (for the manager page). */
export async function createAccount(email: string, password: string, role: "traveller" | "manager", name: string) {
  const api = await internal();
  try {
    const r = await api.post(`${stack.userUrl}/internal/users`, { data: { email, password, name, role } });
    expect(r.status(), await r.text()).toBe(201);
  } finally {
    await api.dispose();
  }
}
