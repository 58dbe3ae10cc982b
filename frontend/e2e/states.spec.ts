// Every state a traveller can meet gets a clear screen: sold out, an expired session, the
// server unreachable, invalid form input, and a real rate limit from the gateway (last: it spends this machine's sign-in budget).
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { expect, request, test, type Page } from "@playwright/test";
import { stack, unique } from "./support/stack";
import { newTraveller, signUp } from "./support/ui";
import { removeWorld, seedWorld, stayQuery, type World } from "./support/world";

const SHOTS = "e2e/artifacts/screens/states";
/** The sign-in form's error summary (an ARIA alert). */
const problems = (page: Page) => page.locator("#auth-problems");
let world: World;

test.beforeAll(async () => {
  world = await seedWorld("Coimbra", [
    { name: "Quinta Pequena", stars: 3, amenities: ["wifi", "garden"], roomTypes: [{ name: "single", capacity: 2, baseRateCents: 7_000, rooms: 1 }] },
  ]);
});

test.afterAll(async () => {
  await removeWorld(world);
});

test("a sold-out room says so on the hotel page and on the booking page", async ({ page }) => {
  const hotel = world.hotels[0]!;
  await signUp(page);
  await page.goto(`/book?${stayQuery(world.stay)}&hotelId=${hotel.id}&roomType=single`);
  await page.getByRole("button", { name: /^Book and pay/ }).click();
  await expect(page.getByTestId("booking-status")).toHaveAttribute("data-status", "CONFIRMED", { timeout: 30_000 });

  await page.goto(`/hotels/${hotel.id}?${stayQuery(world.stay)}`);
  const offer = page.getByTestId("room-offer");
  await expect(offer).toHaveAttribute("data-sold-out", "true");
  await expect(offer.getByTestId("room-availability")).toHaveText("Sold out for these dates");
  await expect(offer.getByRole("link", { name: /^Book/ })).toHaveCount(0);
  await page.screenshot({ path: `${SHOTS}/sold-out-hotel.png`, fullPage: true });

  await page.goto(`/book?${stayQuery(world.stay)}&hotelId=${hotel.id}&roomType=single`);
  await expect(page.getByTestId("sold-out")).toContainText("Single is sold out");
  await page.screenshot({ path: `${SHOTS}/sold-out-book.png`, fullPage: true });
});

test("a session that can no longer be renewed shows 'session expired' and a way back", async ({ page }) => {
  // A stored session whose access token has expired and whose refresh token the user service
  // does not know (as after a long absence, or a revoked session).
  // Stored before the first page runs (once): set on a loaded page instead, a still-hydrating
  // page could find it first and end the session before /bookings opens.
  await page.addInitScript(() => {
    if (window.sessionStorage.getItem("seeded")) return;
    window.sessionStorage.setItem("seeded", "1");
    window.localStorage.setItem(
      "tripnest.session.v1",
      JSON.stringify({
        user: { id: "00000000-0000-0000-0000-000000000000", email: "gone@example.test", roles: ["traveller"] },
        accessToken: "expired",
        accessExpiresAt: Date.now() - 60_000,
        refreshToken: "no-longer-valid",
      }),
    );
  });
  await page.goto("/bookings");
  await expect(page.getByRole("heading", { name: "Your session has expired" })).toBeVisible();
  await expect(page.getByText("Your session has expired, so you were signed out.")).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/session-expired.png`, fullPage: true });
  await page.getByRole("link", { name: "Sign in again" }).first().click();
  await expect(page).toHaveURL(/\/signin\?next=%2Fbookings/);
});

test("an expired access token is renewed silently with the refresh token", async ({ page }) => {
  await signUp(page);
  // Age the stored access token past its expiry, as if the tab had slept for 15 minutes.
  const before = await page.evaluate(() => {
    const s = JSON.parse(window.localStorage.getItem("tripnest.session.v1")!);
    s.accessToken = "expired-token";
    s.accessExpiresAt = Date.now() - 1_000;
    window.localStorage.setItem("tripnest.session.v1", JSON.stringify(s));
    return s.refreshToken as string;
  });
  await page.goto("/bookings");
  await expect(page.getByTestId("no-bookings")).toBeVisible();
  // The session was renewed (the refresh token rotates on use), and the user never noticed.
  const after = await page.evaluate(() => JSON.parse(window.localStorage.getItem("tripnest.session.v1")!) as { accessToken: string; refreshToken: string });
  expect(after.refreshToken).not.toBe(before);
  expect(after.accessToken).not.toBe("expired-token");
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
});

test("signed-out visitors are asked to sign in, and come back afterwards", async ({ page }) => {
  const t = await signUp(page);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.goto("/notifications");
  await expect(page.getByTestId("sign-in-required")).toBeVisible();
  await page.getByTestId("sign-in-required").getByRole("link", { name: "Sign in" }).click();
  await page.getByLabel("Email").fill(t.email);
  await page.getByLabel("Password").fill(t.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).last().click();
  await expect(page).toHaveURL(/\/notifications$/);
  await expect(page.getByRole("heading", { name: "Notifications" })).toBeVisible();
});

test("forms are usable by keyboard and explain their errors", async ({ page }) => {
  await page.goto("/signin");
  const email = page.getByLabel("Email");
  await email.focus();
  await page.keyboard.type("not-an-email");
  await page.keyboard.press("Enter");
  // The summary takes focus and every bad field is marked and described.
  await expect(problems(page)).toBeFocused();
  await expect(problems(page)).toContainText("Enter an email address");
  await expect(email).toHaveAttribute("aria-invalid", "true");
  await expect(email).toHaveAccessibleDescription("Enter an email address like name@example.com.");
  await expect(page.getByLabel("Password")).toHaveAccessibleDescription("Enter your password.");
  await page.screenshot({ path: `${SHOTS}/signin-errors.png`, fullPage: true });

  // Wrong password, all by keyboard: Tab moves from email to password to the button.
  await email.fill("");
  await email.focus();
  await page.keyboard.type(`${unique("nobody")}@example.test`);
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Password")).toBeFocused();
  await page.keyboard.type("wrong password 123");
  await page.keyboard.press("Tab");
  await expect(page.getByRole("button", { name: "Sign in", exact: true }).last()).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(problems(page)).toContainText("don't match an account");
});

test.describe("with the gateway unreachable", () => {
  let server: ChildProcess | undefined;
  let url = "";

  async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
      const s = net.createServer();
      s.once("error", reject);
      s.listen(0, "127.0.0.1", () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
  }

  test.beforeAll(async () => {
    // A second UI server from the same build, configured with a gateway address where nothing
    // listens (a port we just closed): the real "server unreachable" path, SSR and browser.
    const [port, deadGateway] = await Promise.all([freePort(), freePort()]);
    url = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, ["node_modules/next/dist/bin/next", "start", "--hostname", "127.0.0.1", "--port", String(port)], {
      env: { ...process.env, GATEWAY_URL: `http://127.0.0.1:${deadGateway}`, PUBLIC_GATEWAY_URL: "" },
      stdio: "ignore",
    });
    const api = await request.newContext();
    await expect.poll(async () => (await api.get(`${url}/signin`).catch(() => undefined))?.status(), { timeout: 30_000 }).toBe(200);
    await api.dispose();
  });

  test.afterAll(() => {
    server?.kill("SIGTERM");
  });

  test("results and sign-in say the server cannot be reached", async ({ page }) => {
    await page.goto(`${url}/hotels?city=Lisbon&${stayQuery(world.stay)}`);
    await expect(page.getByRole("heading", { name: "We can't reach TripNest right now" })).toBeVisible();
    await expect(page.getByRole("button", { name: "Try again" })).toBeVisible();
    await page.screenshot({ path: `${SHOTS}/unreachable-results.png`, fullPage: true });

    await page.goto(`${url}/signin`);
    await page.getByLabel("Email").fill("ada@example.test");
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Sign in", exact: true }).last().click();
    await expect(problems(page)).toContainText("We can't reach TripNest right now");
  });
});

test("a real rate limit tells when to try again, and the form unlocks then", async ({ page }) => {
  // Spend a sign-in budget with wrong passwords until the API answers 429: the user service's
  // per-account budget (5 failures from one address) runs out first, the gateway's per-address
  // one after that.
  const api = await request.newContext();
  const email = `${unique("limit")}@example.test`;
  let limited = false;
  const spend = async () => {
    const r = await api.post(`${stack.gatewayUrl}/api/auth/login`, { data: { email, password: "wrong password 123" } });
    return r.status() === 429;
  };
  // The local stack's gateway allows a burst of 60 sign-in attempts (TRIPNEST_AUTH_BURST in dev/services.sh).
  for (let i = 0; i < 200 && !limited; i++) limited = await spend();
  expect(limited, "sign-in attempts are rate-limited").toBe(true);

  await page.goto("/signin");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("wrong password 123");
  const button = page.getByRole("button", { name: "Sign in", exact: true }).last();
  // The budget refills one attempt every few seconds; spend what refilled right before the
  // click, so the form's own attempt is the one that is refused.
  await expect(async () => {
    while (!(await spend())) {
      /* keep spending until the API says no */
    }
    await button.click();
    await expect(problems(page)).toContainText(/Too many attempts from your connection\. You can try again in \d+ seconds?\./, { timeout: 3_000 });
  }).toPass({ timeout: 30_000 });
  await api.dispose();
  await expect(button).toBeDisabled();
  await page.screenshot({ path: `${SHOTS}/rate-limited.png`, fullPage: true });
  // The button comes back by itself once the retry time has passed.
  await expect(button).toBeEnabled({ timeout: 60_000 });
});
