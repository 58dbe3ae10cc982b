// Where the running stack is: `.tripnest/stack.env` at the repo root (written by `make up`),
// overridden by the process environment. Tests only read it; they never start anything.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

const repoRoot = path.resolve(__dirname, "..", "..", "..");
const stateDir = process.env.TRIPNEST_STATE ?? path.join(repoRoot, ".tripnest");

function readEnvFile(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m && m[1]) out[m[1]] = m[2]!.trim().replace(/^["']|["']$/g, "");
  }
  return out;
}

const fileEnv = readEnvFile(path.join(stateDir, "stack.env"));
const setting = (name: string, fallback: string) => process.env[name] || fileEnv[name] || fallback;

/** The addresses and secrets the tests use. */
export const stack = {
  webUrl: setting("WEB_URL", "http://127.0.0.1:3000"),
  gatewayUrl: setting("GATEWAY_URL", "http://127.0.0.1:8080"),
  mailApiUrl: setting("MAIL_API_URL", "http://127.0.0.1:18025"),
  /** booking's internal API, to seed hotels and inventory as the operator would. */
  bookingUrl: setting("BOOKING_INTERNAL_URL", "http://127.0.0.1:8082"),
  /** user's internal API, to create a manager account. */
  userUrl: setting("USER_INTERNAL_URL", "http://127.0.0.1:8081"),
  internalToken(): string {
    const file = path.join(stateDir, "internal-token");
    if (!existsSync(file)) throw new Error(`no internal token at ${file}: run 'make up' (dev/services.sh up) first`);
    return readFileSync(file, "utf8").trim();
  },
};

/** A name no other run uses: `prefix-<time>-<random>`, lowercase, safe as a hotel id. */
export function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}

/** Today + `days` as `YYYY-MM-DD` (UTC, like the services). */
export function isoDay(days: number): string {
  const d = new Date();
  d.setUTCHours(0, 0, 0, 0);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}
