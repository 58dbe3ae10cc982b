// The manager page: a manager listed on a hotel (spec.managers) sees its occupancy night by
// night, a booking made meanwhile shows up after a refresh, and a manager of nothing is told
// how to get listed.
import { expect, request, test } from "@playwright/test";
import { createAccount } from "./support/seed";
import { isoDay, stack } from "./support/stack";
import { newTraveller, signIn } from "./support/ui";
import { removeWorld, seedWorld, type World } from "./support/world";

const SHOTS = "e2e/artifacts/screens";
const manager = newTraveller();
let world: World;

test.beforeAll(async () => {
  await createAccount(manager.email, manager.password, "manager", "Marta Manager");
  world = await seedWorld("Braga", [
    {
      name: "Casa do Arco",
      stars: 4,
      amenities: ["wifi"],
      managers: [manager.email.toUpperCase()],
      roomTypes: [{ name: "double", capacity: 2, baseRateCents: 9_000, rooms: 2 }],
    },
  ]);
});

test.afterAll(async () => {
  await removeWorld(world);
});

/** Book one double for nights +3 and +4 as a fresh traveller, through the gateway. */
async function bookAsTraveller(hotelId: string): Promise<void> {
  const t = newTraveller();
  await createAccount(t.email, t.password, "traveller", t.name);
  const api = await request.newContext({ baseURL: stack.gatewayUrl });
  try {
    const login = await api.post("/api/auth/login", { data: { email: t.email, password: t.password } });
    expect(login.status(), await login.text()).toBe(200);
    const { accessToken } = (await login.json()) as { accessToken: string };
    const booked = await api.post("/api/bookings", {
      headers: { Authorization: `Bearer ${accessToken}`, "Idempotency-Key": `manager-${Date.now()}` },
      data: { hotelId, roomType: "double", checkIn: isoDay(3), checkOut: isoDay(5), guests: 2, rooms: 1, paymentMethod: "pm_card_visa" },
    });
    expect(booked.status(), await booked.text()).toBe(202);
  } finally {
    await api.dispose();
  }
}

test("a manager sees their hotel's occupancy, and a new booking after a refresh", async ({ page }) => {
  const hotel = world.hotels[0]!;
  await signIn(page, manager);
  await page.getByRole("link", { name: "Manager" }).click();
  const card = page.getByTestId("managed-hotel");
  await expect(card).toHaveCount(1);
  await expect(card).toHaveAttribute("data-hotel-id", hotel.id);
  await expect(card.getByRole("heading", { name: /Casa do Arco/ })).toBeVisible();
  await expect(card.getByTestId("occupancy-summary")).toHaveText("0 of 60 room-nights booked");
  await expect(card.getByTestId("occupancy-row")).toHaveCount(1);
  await expect(card.locator("td[data-night]")).toHaveCount(30);

  await bookAsTraveller(hotel.id);
  await page.getByRole("button", { name: "Refresh" }).click();
  await expect(card.getByTestId("occupancy-summary")).toHaveText("2 of 60 room-nights booked");
  await expect(card.getByTestId("occupancy-percent")).toHaveText("3%");
  await expect(card.locator(`td[data-night="${isoDay(3)}"]`)).toHaveText("1/2");
  await expect(card.locator(`td[data-night="${isoDay(4)}"]`)).toHaveAttribute("aria-label", /1 of 2 booked/);
  await expect(card.locator(`td[data-night="${isoDay(5)}"]`)).toHaveText("0/2");
  await page.screenshot({ path: `${SHOTS}/laptop/manager-occupancy.png`, fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await expect(card.getByRole("region")).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/phone/manager-occupancy.png`, fullPage: true });
});

test("a manager of no hotel is told how to get listed", async ({ page }) => {
  const m = newTraveller();
  await createAccount(m.email, m.password, "manager", "Nuno Newcomer");
  await signIn(page, m);
  await page.goto("/manager");
  await expect(page.getByTestId("no-managed-hotels")).toContainText("spec.managers");
});
