// The signed-in session in the browser, independent of React.
//
// - Tokens live in localStorage (one key), so a reload or a second tab stays signed in. The
//   access token is short-lived (15 min); the refresh token rotates on every use.
// - Silent refresh: a timer renews the access token a minute before it expires, and any call
//   that meets a 401 renews once and retries. A failed renewal ends the session and marks it
//   `expired`, which the UI shows as "Your session has expired".
// - Renewals are serialised across tabs with the Web Locks API: inside the lock a tab re-reads
//   storage and uses a token another tab has just obtained, so a rotated refresh token is never
//   sent twice (which the user service would treat as reuse).
import type { Gateway } from "../api/client";
import { api } from "../api/endpoints";
import { GatewayError } from "../api/errors";
import type { Session, User } from "../api/schemas";

/** What is kept between page loads. */
interface Stored {
  user: User;
  accessToken: string;
  /** Epoch milliseconds. */
  accessExpiresAt: number;
  refreshToken: string;
}

/** What the UI needs to know. */
export type SessionSnapshot = { status: "loading" } | { status: "anonymous"; expired: boolean } | { status: "signed-in"; user: User };

const STORAGE_KEY = "tripnest.session.v1";
/** Renew this long before the access token expires. */
const RENEW_MARGIN_MS = 60_000;
const LOCK_NAME = "tripnest.session.refresh";

function readStorage(): Stored | null {
  try {
    const text = window.localStorage.getItem(STORAGE_KEY);
    if (!text) return null;
    const v = JSON.parse(text) as Partial<Stored>;
    if (typeof v.accessToken === "string" && typeof v.refreshToken === "string" && typeof v.accessExpiresAt === "number" && v.user) {
      return v as Stored;
    }
  } catch {
    // unreadable storage counts as signed out
  }
  return null;
}

function writeStorage(value: Stored | null) {
  try {
    if (value) window.localStorage.setItem(STORAGE_KEY, JSON.stringify(value));
    else window.localStorage.removeItem(STORAGE_KEY);
  } catch {
    // private mode or full storage: the session lasts for this page only
  }
}

function fromSession(s: Session): Stored {
  return { user: s.user, accessToken: s.accessToken, accessExpiresAt: Date.now() + s.expiresIn * 1000, refreshToken: s.refreshToken };
}

/** Run `fn` holding the cross-tab refresh lock (or directly where Web Locks are missing). */
async function withRefreshLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  return locks ? locks.request(LOCK_NAME, fn) : fn();
}

export class SessionStore {
  private stored: Stored | null = null;
  private snapshot: SessionSnapshot = { status: "loading" };
  private listeners = new Set<() => void>();
  private renewing: Promise<Stored> | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private started = false;

  constructor(private readonly gateway: Gateway) {}

  /** Load the stored session and follow other tabs; call once in the browser. */
  start() {
    if (this.started) return;
    this.started = true;
    this.adopt(readStorage(), false);
    window.addEventListener("storage", (e) => {
      if (e.key === STORAGE_KEY) this.adopt(readStorage(), false);
    });
  }

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): SessionSnapshot => this.snapshot;

  /** Sign in; resolves with the user or throws a GatewayError. */
  async signIn(email: string, password: string): Promise<User> {
    const session = await api.login(this.gateway, { email, password });
    const stored = fromSession(session);
    writeStorage(stored);
    this.adopt(stored, false);
    return stored.user;
  }

  /** Create an account, then sign in to it. */
  async signUp(details: { email: string; password: string; name?: string; phone?: string }): Promise<User> {
    await api.register(this.gateway, details);
    return this.signIn(details.email, details.password);
  }

  /** Sign out here and revoke the refresh token (best effort). */
  async signOut() {
    const token = this.stored?.refreshToken;
    writeStorage(null);
    this.adopt(null, false);
    if (token) await api.logout(this.gateway, token).catch(() => undefined);
  }

  /**
   * Run an authorised call. The token is renewed first when it is about to expire, and once
   * more if the gateway still answers 401. Throws GatewayError `unauthorized` when nobody is
   * signed in and `session_expired` when the session could not be renewed.
   */
  async authorized<T>(call: (accessToken: string) => Promise<T>): Promise<T> {
    const token = await this.accessToken();
    try {
      return await call(token);
    } catch (e) {
      if (!(e instanceof GatewayError) || e.kind !== "unauthorized") throw e;
      const renewed = await this.renew(token);
      return call(renewed.accessToken);
    }
  }

  /** A valid access token, renewed if it expires within the margin. */
  async accessToken(): Promise<string> {
    const s = this.stored;
    if (!s) {
      throw new GatewayError({ kind: "unauthorized", code: "signed_out", message: "please sign in" });
    }
    if (s.accessExpiresAt - Date.now() > RENEW_MARGIN_MS) return s.accessToken;
    return (await this.renew(s.accessToken)).accessToken;
  }

  /** Renew the session unless another caller or tab already replaced `staleAccessToken`. */
  private renew(staleAccessToken: string): Promise<Stored> {
    if (!this.renewing) {
      this.renewing = withRefreshLock(async () => {
        const latest = readStorage() ?? this.stored;
        if (!latest) throw new GatewayError({ kind: "session_expired", code: "signed_out", message: "your session has ended" });
        if (latest.accessToken !== staleAccessToken && latest.accessExpiresAt - Date.now() > RENEW_MARGIN_MS) {
          return latest; // another tab renewed it
        }
        try {
          const fresh = fromSession(await api.refresh(this.gateway, latest.refreshToken));
          writeStorage(fresh);
          return fresh;
        } catch (e) {
          if (e instanceof GatewayError && (e.kind === "unauthorized" || e.kind === "validation")) {
            writeStorage(null);
            this.adopt(null, true);
            throw new GatewayError({ kind: "session_expired", code: e.code, status: e.status, message: "your session has expired" });
          }
          throw e;
        }
      })
        .then((fresh) => {
          this.adopt(fresh, false);
          return fresh;
        })
        .finally(() => {
          this.renewing = null;
        });
    }
    return this.renewing;
  }

  private adopt(stored: Stored | null, expired: boolean) {
    this.stored = stored;
    this.snapshot = stored ? { status: "signed-in", user: stored.user } : { status: "anonymous", expired };
    this.schedule();
    for (const l of this.listeners) l();
  }

  /** Renew quietly shortly before expiry while the page is open. */
  private schedule() {
    clearTimeout(this.timer);
    const s = this.stored;
    if (!s) return;
    const due = Math.max(5_000, s.accessExpiresAt - Date.now() - RENEW_MARGIN_MS);
    this.timer = setTimeout(() => {
      this.renew(s.accessToken).catch((e: unknown) => {
        // Offline or rate limited: try again soon; an ended session was already marked expired.
        if (!(e instanceof GatewayError && e.kind === "session_expired")) this.timer = setTimeout(() => this.schedule(), 30_000);
      });
    }, due);
  }
}

/** Whether these roles may see the manager pages (admins have every role). */
export function isManager(roles: readonly string[]): boolean {
  return roles.includes("manager") || roles.includes("admin");
}
