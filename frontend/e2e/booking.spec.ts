// Booking through the UI against the real stack: the saga confirms or cancels, the email
// arrives in Mailpit, a declined card releases the room, and a double click books once.
import { expect, test, type Page } from "@playwright/test";
import { waitForEmail } from "./support/mail";
import { gatewayGet, signUp } from "./support/ui";
import { removeWorld, seedWorld, stayQuery, type World } from "./support/world";

let world: World;

test.beforeAll(async () => {
  world = await seedWorld("Lisbon", [
    {
      name: "Alfama Riverside",
      stars: 4,
      amenities: ["wifi", "breakfast"],
      roomTypes: [
        { name: "double", capacity: 2, baseRateCents: 12_000, rooms: 5 },
        { name: "suite", capacity: 4, baseRateCents: 25_000, rooms: 2 },
      ],
    },
  ]);
});

test.afterAll(async () => {
  await removeWorld(world);
});

const hotel = () => world.hotels[0]!;

/** The "double" room's offer on the hotel page. */
const doubleOffer = (page: Page) => page.locator('[data-testid="room-offer"][data-room-type="double"]');

test("book with a card that succeeds, get the email, then cancel", async ({ page }) => {
  const traveller = await signUp(page);

  // Search the seeded city for the stay from the home page.
  await page.getByLabel("Where to?").fill(world.city);
  await page.getByLabel("Check-in").fill(world.stay.checkIn);
  await page.getByLabel("Check-out").fill(world.stay.checkOut);
  await page.getByLabel("Guests").fill("2");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.getByTestId("results-title")).toHaveText(`1 hotel in ${world.city}`);
  const card = page.getByTestId("hotel-card").filter({ hasText: hotel().name });
  await expect(card.getByTestId("hotel-price")).toHaveText("€240"); // 2 nights × €120
  await card.getByRole("link", { name: `See rooms at ${hotel().name}` }).click();

  // The hotel page shows both room types with totals; book the double.
  await expect(page.getByRole("heading", { level: 1, name: hotel().name })).toBeVisible();
  await expect(doubleOffer(page).getByTestId("room-total")).toHaveText("€240");
  await expect(doubleOffer(page).getByTestId("room-availability")).toHaveText("5 rooms left");
  await doubleOffer(page).getByRole("link", { name: "Book Double" }).click();

  await expect(page.getByRole("heading", { name: "Book your stay" })).toBeVisible();
  await expect(page.getByLabel("Visa — succeeds")).toBeChecked();
  await page.getByRole("button", { name: "Book and pay €240" }).click();

  // The status page follows the saga live: PENDING → CONFIRMED.
  await expect(page).toHaveURL(/\/bookings\/[0-9a-f-]{36}$/);
  const status = page.getByTestId("booking-status");
  await expect(status).toHaveAttribute("data-status", "CONFIRMED", { timeout: 30_000 });
  await expect(status.getByRole("heading", { name: "Booking confirmed" })).toBeVisible();

  // The confirmation email reached the SMTP server, and the notifications page lists it.
  const subject = await waitForEmail(traveller.email, hotel().name);
  expect(subject).toContain("confirmed");
  await page.getByRole("link", { name: "Notifications" }).click();
  await expect(page.getByTestId("notification").filter({ hasText: subject })).toBeVisible({ timeout: 30_000 });

  // Cancel from My bookings, with the confirmation step.
  await page.getByRole("link", { name: "My bookings" }).click();
  const item = page.getByTestId("booking-item").filter({ hasText: hotel().name });
  await expect(item).toHaveAttribute("data-status", "CONFIRMED");
  await item.getByRole("button", { name: "Cancel booking" }).click();
  await item.getByRole("button", { name: "Yes, cancel" }).click();
  await expect(item).toHaveAttribute("data-status", "CANCELLED");
  await expect(item.getByTestId("status-badge")).toHaveText("Cancelled");

  // It stays cancelled on a fresh load, and the cancellation email follows.
  await page.reload();
  await expect(page.getByTestId("booking-item").filter({ hasText: hotel().name })).toHaveAttribute("data-status", "CANCELLED");
  await waitForEmail(traveller.email, "cancel");
});

test("a declined card says so clearly and the room stays available", async ({ page }) => {
  await signUp(page);
  const hotelUrl = `/hotels/${hotel().id}?${stayQuery(world.stay)}`;
  await page.goto(hotelUrl);
  const before = await doubleOffer(page).getByTestId("room-availability").textContent();

  await doubleOffer(page).getByRole("link", { name: "Book Double" }).click();
  await page.getByLabel("Card declined").check();
  await page.getByRole("button", { name: /^Book and pay/ }).click();

  const status = page.getByTestId("booking-status");
  await expect(status).toHaveAttribute("data-status", "CANCELLED", { timeout: 30_000 });
  await expect(status.getByRole("heading", { name: "Payment failed" })).toBeVisible();
  await expect(page.getByTestId("booking-explanation")).toContainText("Your card was declined.");
  await expect(page.getByTestId("booking-explanation")).toContainText("You have not been charged");
  await expect(page.getByRole("link", { name: "Try another payment method" })).toBeVisible();

  // Back on the hotel page the room is still for sale, with as many rooms as before.
  await page.getByRole("link", { name: `Back to ${hotel().name}` }).click();
  await expect(doubleOffer(page).getByTestId("room-availability")).toHaveText(before!);
  await expect(doubleOffer(page).getByRole("link", { name: "Book Double" })).toBeVisible();
});

test("a double click on Book makes exactly one booking", async ({ page }) => {
  await signUp(page);
  await page.goto(`/book?${stayQuery(world.stay)}&hotelId=${hotel().id}&roomType=suite`);
  await expect(page.getByTestId("book-total-price")).toHaveText("€500");
  await page.getByRole("button", { name: "Book and pay €500" }).dblclick();

  await expect(page.getByTestId("booking-status")).toHaveAttribute("data-status", "CONFIRMED", { timeout: 30_000 });
  const mine = await gatewayGet<{ total: number; items: { roomType: string; status: string }[] }>(page, "/api/bookings");
  expect(mine.total).toBe(1);
  expect(mine.items.map((b) => [b.roomType, b.status])).toEqual([["suite", "CONFIRMED"]]);

  // And the hotel lost exactly one suite for those nights.
  await page.goto(`/hotels/${hotel().id}?${stayQuery(world.stay)}`);
  await expect(page.locator('[data-testid="room-offer"][data-room-type="suite"]').getByTestId("room-availability")).toHaveText("1 room left");
});
