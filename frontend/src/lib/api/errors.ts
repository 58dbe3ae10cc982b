// What can go wrong when talking to the gateway, as one error class (thrown by the client) and
// one plain, serialisable description of it (rendered by <ErrorState>, also across the
// server→client boundary).

/** A field the gateway refused, from a `validation_failed` error. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** How a request failed, as far as the UI cares. */
export type FailureKind =
  | "unreachable" // no answer at all: connection refused, DNS, timeout
  | "unavailable" // the gateway answered 502/503/504: a service behind it is down
  | "rate_limited" // 429 with Retry-After
  | "unauthorized" // 401: no session, or it has ended
  | "session_expired" // our stored session could not be refreshed
  | "forbidden" // 403
  | "not_found" // 404
  | "validation" // 400/422 with field problems
  | "conflict" // 409 (sold_out, request_in_flight, cannot_cancel, …)
  | "server" // 500 or an answer we could not read
  | "other";

/** The single error type the gateway client throws. */
export class GatewayError extends Error {
  readonly kind: FailureKind;
  readonly status: number | undefined;
  readonly code: string;
  readonly details: unknown;
  readonly retryAfterSeconds: number | undefined;
  readonly requestId: string | undefined;

  constructor(init: { kind: FailureKind; message: string; code: string; status?: number; details?: unknown; retryAfterSeconds?: number; requestId?: string }) {
    super(init.message);
    this.name = "GatewayError";
    this.kind = init.kind;
    this.code = init.code;
    this.status = init.status;
    this.details = init.details;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.requestId = init.requestId;
  }

  /** The invalid fields of a `validation_failed` answer (empty otherwise). */
  get fieldProblems(): FieldProblem[] {
    if (!Array.isArray(this.details)) return [];
    return this.details.flatMap((d: unknown) => {
      if (d && typeof d === "object" && "field" in d && "message" in d) {
        return [{ field: String(d.field), message: String(d.message) }];
      }
      return [];
    });
  }
}

/** The failure kind for an HTTP status. */
export function kindForStatus(status: number): FailureKind {
  if (status === 429) return "rate_limited";
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 409) return "conflict";
  if (status === 400 || status === 422) return "validation";
  if (status === 502 || status === 503 || status === 504) return "unavailable";
  if (status >= 500) return "server";
  return "other";
}

/** Seconds from a `Retry-After` header (delta-seconds or an HTTP date), if it has one. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/** A failure ready to show: plain data, safe to pass from a server to a client component. */
export interface FailureView {
  kind: FailureKind;
  title: string;
  message: string;
  code?: string;
  retryAfterSeconds?: number;
  fieldProblems?: FieldProblem[];
  requestId?: string;
}

/** What to tell the user about `error` (a GatewayError or anything thrown). */
export function describeFailure(error: unknown): FailureView {
  if (!(error instanceof GatewayError)) {
    return { kind: "other", title: "Something went wrong", message: "An unexpected error happened. Please try again." };
  }
  const base = { kind: error.kind, code: error.code, requestId: error.requestId };
  switch (error.kind) {
    case "unreachable":
      return {
        ...base,
        title: "We can't reach TripNest right now",
        message: "Check your connection. If it is fine, our servers may be restarting — try again in a moment.",
      };
    case "unavailable":
      return {
        ...base,
        title: "TripNest is temporarily unavailable",
        message: "Part of our service is not answering. Nothing was lost — please try again in a moment.",
      };
    case "rate_limited":
      return {
        ...base,
        title: "Too many requests",
        message: "You have made a lot of requests in a short time. Please wait before trying again.",
        retryAfterSeconds: error.retryAfterSeconds ?? 5,
      };
    case "session_expired":
      return { ...base, title: "Your session has expired", message: "For your security you were signed out. Please sign in again." };
    case "unauthorized":
      return { ...base, title: "Please sign in", message: "You need to be signed in to see this page." };
    case "forbidden":
      return { ...base, title: "Not allowed", message: error.message || "Your account cannot do this." };
    case "not_found":
      return { ...base, title: "Not found", message: error.message || "We could not find what you were looking for." };
    case "validation":
      return {
        ...base,
        title: "Please check your details",
        message: error.message || "Some values are not valid.",
        fieldProblems: error.fieldProblems,
      };
    case "conflict":
      return { ...base, title: "That didn't work", message: error.message };
    case "server":
      return { ...base, title: "Something went wrong on our side", message: "Please try again. If it keeps happening, contact support." };
    default:
      return { ...base, title: "Something went wrong", message: error.message || "Please try again." };
  }
}
