// Screenshots of the main pages at phone and laptop widths (e2e/artifacts/screens/, git-
// ignored), and each page's first load in a cold browser context (e2e/artifacts/page-loads.jsonl).
import { expect, test, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { recordLoad } from "./support/metrics";
import { signUp } from "./support/ui";
import { removeWorld, seedWorld, stayQuery, type World } from "./support/world";

const VIEWPORTS = [
  { name: "phone", viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
  { name: "laptop", viewport: { width: 1366, height: 900 }, isMobile: false, hasTouch: false },
] as const;

let world: World;
/** A signed-in traveller with one confirmed booking (localStorage of the UI's origin). */
let signedIn: Awaited<ReturnType<BrowserContext["storageState"]>>;
let bookingPath: string;

test.describe.configure({ mode: "serial" });

test.beforeAll(async ({ browser }) => {
  world = await seedWorld("Porto", [
    {
      name: "Casa do Rio",
      stars: 4,
      amenities: ["wifi", "breakfast", "air-conditioning"],
      roomTypes: [
        { name: "double", capacity: 2, baseRateCents: 11_000, rooms: 6 },
        { name: "family-suite", capacity: 4, baseRateCents: 21_000, rooms: 2 },
      ],
    },
    {
      name: "Ribeira Boutique Suites",
      stars: 5,
      amenities: ["wifi", "spa", "pool", "gym"],
      roomTypes: [{ name: "deluxe", capacity: 2, baseRateCents: 26_000, rooms: 3 }],
    },
    { name: "Hostel Miradouro", stars: 2, amenities: ["wifi"], roomTypes: [{ name: "twin", capacity: 2, baseRateCents: 5_500, rooms: 8 }] },
    {
      name: "Solar das Flores",
      stars: 3,
      amenities: ["wifi", "parking", "pet-friendly"],
      roomTypes: [{ name: "double", capacity: 2, baseRateCents: 8_900, rooms: 1 }],
    },
  ]);
  // One traveller books a stay, so My bookings and Notifications have something to show.
  const context = await browser.newContext();
  const page = await context.newPage();
  await signUp(page);
  await page.goto(`/book?${stayQuery(world.stay)}&hotelId=${world.hotels[0]!.id}&roomType=double`);
  await page.getByRole("button", { name: /^Book and pay/ }).click();
  await expect(page.getByTestId("booking-status")).toHaveAttribute("data-status", "CONFIRMED", { timeout: 30_000 });
  bookingPath = new URL(page.url()).pathname;
  // Wait for the email to be recorded so the notifications page is not empty.
  await page.goto("/notifications");
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId("notification").first()).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 30_000 });
  signedIn = await context.storageState();
  await context.close();
});

test.afterAll(async () => {
  await removeWorld(world);
});

interface Shot {
  name: string;
  path: () => string;
  /** What must be on screen before the picture is taken. */
  ready: (page: Page) => Promise<void>;
  signedIn?: boolean;
}

const SHOTS: Shot[] = [
  { name: "home", path: () => "/", ready: async (p) => void (await expect(p.getByRole("heading", { name: "Popular right now" })).toBeVisible()) },
  {
    name: "results",
    path: () => `/hotels?city=${encodeURIComponent(world.city)}&${stayQuery(world.stay)}`,
    ready: async (p) => void (await expect(p.getByTestId("hotel-card")).toHaveCount(4)),
  },
  {
    name: "hotel",
    path: () => `/hotels/${world.hotels[0]!.id}?${stayQuery(world.stay)}`,
    ready: async (p) => void (await expect(p.getByTestId("room-offer")).toHaveCount(2)),
  },
  {
    name: "signin",
    path: () => "/signin",
    ready: async (p) => void (await expect(p.getByRole("button", { name: "Sign in", exact: true }).last()).toBeVisible()),
  },
  { name: "signup", path: () => "/signup", ready: async (p) => void (await expect(p.getByRole("button", { name: "Create account" })).toBeVisible()) },
  {
    name: "book",
    signedIn: true,
    path: () => `/book?${stayQuery(world.stay)}&hotelId=${world.hotels[1]!.id}&roomType=deluxe`,
    ready: async (p) => void (await expect(p.getByRole("button", { name: /^Book and pay/ })).toBeVisible()),
  },
  {
    name: "booking-status",
    signedIn: true,
    path: () => bookingPath,
    ready: async (p) => void (await expect(p.getByTestId("booking-status")).toHaveAttribute("data-status", "CONFIRMED")),
  },
  { name: "my-bookings", signedIn: true, path: () => "/bookings", ready: async (p) => void (await expect(p.getByTestId("booking-item")).toHaveCount(1)) },
  {
    name: "notifications",
    signedIn: true,
    path: () => "/notifications",
    ready: async (p) => void (await expect(p.getByTestId("notification").first()).toBeVisible()),
  },
  { name: "manager", signedIn: true, path: () => "/manager", ready: async (p) => void (await expect(p.getByTestId("manager-forbidden")).toBeVisible()) },
  {
    name: "empty-results",
    path: () => `/hotels?city=${encodeURIComponent(`${world.city} nowhere`)}&${stayQuery(world.stay)}`,
    ready: async (p) => void (await expect(p.getByTestId("no-results")).toBeVisible()),
  },
];

async function open(browser: Browser, vp: (typeof VIEWPORTS)[number], shot: Shot) {
  // A new context per page: a cold cache, so the load numbers are first loads.
  const context = await browser.newContext({
    viewport: vp.viewport,
    isMobile: vp.isMobile,
    hasTouch: vp.hasTouch,
    storageState: shot.signedIn ? signedIn : undefined,
  });
  const page = await context.newPage();
  // Hydration mismatches, failed requests and uncaught exceptions all end up here.
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(shot.path());
  return { context, page, problems };
}

for (const vp of VIEWPORTS) {
  test(`main pages at ${vp.name} width`, async ({ browser }) => {
    for (const shot of SHOTS) {
      await test.step(shot.name, async () => {
        const { context, page, problems } = await open(browser, vp, shot);
        try {
          await shot.ready(page);
          expect(problems, "no errors in the browser console").toEqual([]);
          await recordLoad(page, shot.name);
          await page.screenshot({ path: `e2e/artifacts/screens/${vp.name}/${shot.name}.png`, fullPage: true });
        } finally {
          await context.close();
        }
      });
    }
  });
}
