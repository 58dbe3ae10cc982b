// Results: filters, sort and pagination change what the server renders, as expected from the
// seeded hotels (flat prices, so a 2-night total is twice the base rate).
import { expect, test, type Page } from "@playwright/test";
import { removeWorld, seedWorld, stayQuery, type World } from "./support/world";

let world: World;

// name, stars, amenities, nightly rate → total for 2 nights
const HOTELS = [
  { name: "Atlantic Grand", stars: 5, amenities: ["wifi", "pool", "spa"], rate: 30_000 }, // €600
  { name: "Baixa Garden", stars: 4, amenities: ["wifi", "pool"], rate: 20_000 }, //        €400
  { name: "Chiado Rooms", stars: 3, amenities: ["wifi"], rate: 10_000 }, //                €200
  { name: "Docas Lofts", stars: 4, amenities: ["wifi", "parking"], rate: 15_000 }, //       €300
  { name: "Estrela Hostel", stars: 2, amenities: ["parking"], rate: 8_000 }, //             €160
];

test.beforeAll(async () => {
  world = await seedWorld(
    "Faro",
    HOTELS.map((h) => ({
      name: h.name,
      stars: h.stars,
      amenities: h.amenities,
      roomTypes: [{ name: "double", capacity: 2, baseRateCents: h.rate, rooms: 3 }],
    })),
  );
});

test.afterAll(async () => {
  await removeWorld(world);
});

const resultsUrl = (extra = "") => `/hotels?city=${encodeURIComponent(world.city)}&${stayQuery(world.stay)}${extra}`;
const names = (page: Page) => page.getByTestId("hotel-name").allTextContents();
const title = (page: Page) => page.getByTestId("results-title");

test("pagination walks through every hotel exactly once", async ({ page }) => {
  await page.goto(resultsUrl("&pageSize=2"));
  await expect(title(page)).toHaveText(`5 hotels in ${world.city}`);
  const pager = page.getByRole("navigation", { name: "Pagination" });
  await expect(pager.getByRole("link", { name: "Page 1" })).toHaveAttribute("aria-current", "page");
  await expect(pager.getByRole("link", { name: "Page 3" })).toBeVisible();

  const seen: string[] = [];
  await expect(page.getByTestId("hotel-card")).toHaveCount(2);
  seen.push(...(await names(page)));
  await pager.getByRole("link", { name: "Next ›" }).click();
  await expect(pager.getByRole("link", { name: "Page 2" })).toHaveAttribute("aria-current", "page");
  await expect(page.getByTestId("hotel-card")).toHaveCount(2);
  seen.push(...(await names(page)));
  await pager.getByRole("link", { name: "Page 3" }).click();
  await expect(pager.getByRole("link", { name: "Page 3" })).toHaveAttribute("aria-current", "page");
  await expect(page.getByTestId("hotel-card")).toHaveCount(1);
  seen.push(...(await names(page)));
  expect(seen.sort()).toEqual(HOTELS.map((h) => h.name).sort());
});

test("sorting by price orders the totals, each card showing the stay's total", async ({ page }) => {
  await page.goto(resultsUrl());
  await page.getByLabel("Sort by").selectOption("price");
  await page.getByRole("button", { name: "Sort" }).click();
  await expect(page).toHaveURL(/sort=price/);
  await expect(page.getByTestId("hotel-name")).toHaveText(["Estrela Hostel", "Chiado Rooms", "Docas Lofts", "Baixa Garden", "Atlantic Grand"]);
  await expect(page.getByTestId("hotel-price")).toHaveText(["€160", "€200", "€300", "€400", "€600"]);

  await page.getByLabel("Sort by").selectOption("-price");
  await page.getByRole("button", { name: "Sort" }).click();
  await expect(page.getByTestId("hotel-name").first()).toHaveText("Atlantic Grand");
});

test("filters narrow the results and clearing them brings everything back", async ({ page }) => {
  await page.goto(resultsUrl("&sort=price"));
  const filters = page.getByRole("form", { name: "Filter results" });

  // Stars: 4★ only.
  await filters.getByText("4★").click();
  await filters.getByRole("button", { name: "Apply filters" }).click();
  await expect(title(page)).toHaveText(`2 hotels in ${world.city}`);
  await expect(page.getByTestId("hotel-name")).toHaveText(["Docas Lofts", "Baixa Garden"]);

  // Plus an amenity: 4★ with a pool.
  await filters.getByLabel("Pool").check();
  await filters.getByRole("button", { name: "Apply filters" }).click();
  await expect(title(page)).toHaveText(`1 hotel in ${world.city}`);
  await expect(page.getByTestId("hotel-name")).toHaveText(["Baixa Garden"]);

  // Clear, then a price range for the whole stay: €150–€250.
  await page.getByRole("link", { name: "Clear" }).click();
  await expect(title(page)).toHaveText(`5 hotels in ${world.city}`);
  await filters.getByLabel("Minimum price").fill("150");
  await filters.getByLabel("Maximum price").fill("250");
  await filters.getByRole("button", { name: "Apply filters" }).click();
  await expect(page.getByTestId("hotel-name")).toHaveText(["Estrela Hostel", "Chiado Rooms"]);

  // A filter nothing matches shows the empty state with a way back.
  await page.goto(resultsUrl("&stars=1"));
  await expect(page.getByTestId("no-results")).toBeVisible();
  await page.getByTestId("no-results").getByRole("link", { name: "Clear filters" }).click();
  await expect(title(page)).toHaveText(`5 hotels in ${world.city}`);
});
