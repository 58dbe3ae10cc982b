// The gateway as server components reach it (SSR), and a helper that turns a failed call into
// a FailureView the page can render instead of crashing.
import { createGateway, type Gateway } from "./client";
import { describeFailure, type FailureView } from "./errors";
import { env } from "../env";

/** The gateway client for server-side rendering. */
export function serverGateway(): Gateway {
  return createGateway(env().gatewayUrl);
}

export type Outcome<T> = { ok: true; data: T } | { ok: false; failure: FailureView };

/** Await `call`, keeping its failure as data. */
export async function attempt<T>(call: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, data: await call };
  } catch (error) {
    return { ok: false, failure: describeFailure(error) };
  }
}
