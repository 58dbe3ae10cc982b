// Runs before every page: a fresh CSP nonce per request (see src/lib/csp.ts). The policy goes
// on the request too, where Next.js reads the nonce to stamp its scripts, and on the response.
// Static assets and prefetches are skipped: they carry no inline script.
import { NextResponse, type NextRequest } from "next/server";
import { contentSecurityPolicy, freshNonce } from "@/lib/csp";
import { env } from "@/lib/env";

export function proxy(request: NextRequest) {
  const nonce = freshNonce();
  const policy = contentSecurityPolicy({
    nonce,
    gatewayUrl: env().publicGatewayUrl,
    dev: process.env.NODE_ENV === "development",
  });
  const headers = new Headers(request.headers);
  headers.set("x-nonce", nonce);
  headers.set("Content-Security-Policy", policy);
  const response = NextResponse.next({ request: { headers } });
  response.headers.set("Content-Security-Policy", policy);
  return response;
}

export const config = {
  matcher: [
    {
      source: "/((?!_next/static|_next/image|favicon.ico).*)",
      missing: [
        { type: "header", key: "next-router-prefetch" },
        { type: "header", key: "purpose", value: "prefetch" },
      ],
    },
  ],
};
