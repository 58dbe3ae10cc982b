// The web UI's Content-Security-Policy. The UI keeps access and refresh tokens in the browser,
// so a script injected into a page could read them: only scripts carrying this response's
// nonce run ('strict-dynamic' lets them load Next.js's own chunks), nothing can be framed,
// embedded or posted elsewhere, and the page may call only its own origin and the gateway.
// src/proxy.ts makes a fresh nonce per request and sends the policy; Next.js puts the nonce on
// the scripts it renders (every page renders dynamically: see app/layout.tsx).

export interface PolicyInput {
  /** Base64 of at least 128 random bits, fresh for every response. */
  nonce: string;
  /** Where browsers reach the gateway (PUBLIC_GATEWAY_URL). */
  gatewayUrl: string;
  /** `next dev` evaluates code and hot-reloads over a WebSocket; a production build needs neither. */
  dev: boolean;
}

/** The Content-Security-Policy header value for one response. */
export function contentSecurityPolicy({ nonce, gatewayUrl, dev }: PolicyInput): string {
  const gateway = new URL(gatewayUrl).origin;
  const directives: Record<string, string[]> = {
    "default-src": ["'self'"],
    "script-src": ["'self'", `'nonce-${nonce}'`, "'strict-dynamic'", ...(dev ? ["'unsafe-eval'"] : [])],
    "style-src": ["'self'", ...(dev ? ["'unsafe-inline'"] : [`'nonce-${nonce}'`])],
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'", gateway, ...(dev ? ["ws:"] : [])],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
  };
  return Object.entries(directives)
    .map(([name, sources]) => `${name} ${sources.join(" ")}`)
    .join("; ");
}

/** A nonce: 128 random bits, base64. */
export function freshNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}
