// The one way the UI talks to TripNest: a typed fetch wrapper for the gateway's `/api/...`.
// Every answer is parsed with its zod schema; every failure becomes a GatewayError whose kind
// says which screen to show (src/lib/api/errors.ts). Used by server components (SSR, with
// GATEWAY_URL) and by the browser (with the public gateway URL).
import * as z from "zod/mini";
import { ErrorBody } from "./schemas";
import { GatewayError, kindForStatus, parseRetryAfter } from "./errors";

type QueryValue = string | number | boolean | null | undefined | readonly (string | number)[];
/** Query parameters; empty values are left out, arrays are sent comma-separated. */
export type Query = Record<string, QueryValue>;

/** One request to the gateway. */
export interface RequestOptions<S extends z.ZodMiniType> {
  method?: "GET" | "POST" | "PUT" | "DELETE";
  query?: Query;
  body?: unknown;
  /** Access token for `Authorization: Bearer …`. */
  token?: string;
  /** Sent as `Idempotency-Key` (booking creation). */
  idempotencyKey?: string;
  /** The expected answer's shape. */
  schema: S;
  signal?: AbortSignal;
  /** Give up waiting after this long (default 10 s). */
  timeoutMs?: number;
}

/** A client bound to one gateway base URL. */
export interface Gateway {
  readonly baseUrl: string;
  request<S extends z.ZodMiniType>(path: string, options: RequestOptions<S>): Promise<z.output<S>>;
}

/** `path` plus the non-empty query parameters, e.g. `/api/hotels?city=Lisbon&stars=4,5`. */
export function withQuery(path: string, query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) {
      if (value.length > 0) params.set(key, value.join(","));
    } else {
      params.set(key, String(value));
    }
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** A gateway client for `baseUrl` (no trailing slash). */
export function createGateway(baseUrl: string, fetchImpl: typeof fetch = (...args) => fetch(...args)): Gateway {
  return {
    baseUrl,
    async request(path, options) {
      const { method = "GET", query, body, token, idempotencyKey, schema, signal, timeoutMs = 10_000 } = options;
      const headers: Record<string, string> = { Accept: "application/json" };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      if (token) headers.Authorization = `Bearer ${token}`;
      if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
      const timeout = AbortSignal.timeout(timeoutMs);
      let response: Response;
      try {
        response = await fetchImpl(baseUrl + withQuery(path, query), {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
          cache: "no-store",
        });
      } catch (cause) {
        if (signal?.aborted) throw cause; // the caller gave up; not a failure to show
        throw new GatewayError({
          kind: "unreachable",
          code: timeout.aborted ? "timeout" : "network_error",
          message: timeout.aborted ? "the server took too long to answer" : "the server could not be reached",
        });
      }
      const requestId = response.headers.get("x-request-id") ?? undefined;
      const text = await response.text().catch(() => "");
      const json = parseJson(text);
      if (!response.ok) throw failure(response, json, requestId);
      const parsed = z.safeParse(schema, response.status === 204 ? undefined : json);
      if (!parsed.success) {
        throw new GatewayError({
          kind: "server",
          code: "unexpected_response",
          status: response.status,
          message: `unexpected answer from ${path}`,
          details: parsed.error.issues.slice(0, 5),
          requestId,
        });
      }
      return parsed.data;
    },
  };
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function failure(response: Response, json: unknown, requestId: string | undefined): GatewayError {
  const envelope = z.safeParse(ErrorBody, json);
  const error = envelope.success ? envelope.data.error : undefined;
  const details = error?.details;
  let retryAfterSeconds = parseRetryAfter(response.headers.get("retry-after"));
  if (retryAfterSeconds === undefined && details && typeof details === "object" && "retryAfterSeconds" in details) {
    const seconds = Number(details.retryAfterSeconds);
    if (Number.isFinite(seconds)) retryAfterSeconds = seconds;
  }
  return new GatewayError({
    kind: kindForStatus(response.status),
    status: response.status,
    code: error?.code ?? `http_${response.status}`,
    message: error?.message ?? response.statusText,
    details,
    retryAfterSeconds,
    requestId,
  });
}
