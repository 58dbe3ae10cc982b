// Server-side settings, read from the process environment and validated once (zod).
// Never import this from a client component: the browser learns the gateway's address from the
// root layout, which passes `publicGatewayUrl` down through <GatewayProvider>.
import * as z from "zod/mini";

const httpBase = z.pipe(
  z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as http://127.0.0.1:8080" }),
  z.transform((url: string) => url.replace(/\/+$/, "")),
);

const EnvSchema = z.object({
  /** Where server components reach the gateway (SSR). */
  GATEWAY_URL: z._default(httpBase, "http://127.0.0.1:8080"),
  /** Where browsers reach the gateway; defaults to GATEWAY_URL (same host in the local stack). */
  PUBLIC_GATEWAY_URL: z.optional(httpBase),
});

/** The validated settings the UI runs with. */
export interface Env {
  gatewayUrl: string;
  publicGatewayUrl: string;
}

let cached: Env | undefined;

/** The validated environment; throws one readable error naming every bad variable. */
export function env(): Env {
  if (cached) return cached;
  const parsed = z.safeParse(EnvSchema, {
    GATEWAY_URL: process.env.GATEWAY_URL || undefined,
    PUBLIC_GATEWAY_URL: process.env.PUBLIC_GATEWAY_URL || undefined,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`invalid TripNest web settings — ${problems}`);
  }
  cached = {
    gatewayUrl: parsed.data.GATEWAY_URL,
    publicGatewayUrl: parsed.data.PUBLIC_GATEWAY_URL ?? parsed.data.GATEWAY_URL,
  };
  return cached;
}
