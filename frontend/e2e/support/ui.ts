// Steps through the UI that several tests share, and reading the session the UI stored.
import { expect, request, type Page } from "@playwright/test";
import { stack, unique } from "./stack";

export interface Traveller {
  name: string;
  email: string;
  password: string;
}

export function newTraveller(): Traveller {
  const id = unique("web");
  return { name: `Ada ${id.slice(-5)}`, email: `${id}@example.test`, password: "correct horse battery" };
}

/** Create an account through the sign-up page; ends signed in on the home page. */
export async function signUp(page: Page, t: Traveller = newTraveller()): Promise<Traveller> {
  await page.goto("/signup");
  await page.getByLabel("Your name").fill(t.name);
  await page.getByLabel("Email").fill(t.email);
  await page.getByLabel("Password").fill(t.password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
  return t;
}

/** Sign in through the sign-in page with an existing account; ends signed in. */
export async function signIn(page: Page, t: Pick<Traveller, "email" | "password">): Promise<void> {
  await page.goto("/signin");
  await page.getByLabel("Email").fill(t.email);
  await page.getByLabel("Password").fill(t.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).last().click();
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
}

/** The access token the UI keeps for the signed-in user. */
export async function accessToken(page: Page): Promise<string> {
  const stored = await page.evaluate(() => window.localStorage.getItem("tripnest.session.v1"));
  if (!stored) throw new Error("nobody is signed in");
  return (JSON.parse(stored) as { accessToken: string }).accessToken;
}

/** GET a gateway path as the signed-in user of `page`. */
export async function gatewayGet<T>(page: Page, path: string): Promise<T> {
  const api = await request.newContext({ extraHTTPHeaders: { Authorization: `Bearer ${await accessToken(page)}` } });
  try {
    const r = await api.get(`${stack.gatewayUrl}${path}`);
    expect(r.ok(), `GET ${path}: ${r.status()} ${await r.text()}`).toBeTruthy();
    return (await r.json()) as T;
  } finally {
    await api.dispose();
  }
}
