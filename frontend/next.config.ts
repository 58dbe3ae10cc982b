import type { NextConfig } from "next";

// The UI is a plain Node server (`next start`). It never proxies the API: server components
// call the gateway at GATEWAY_URL, the browser calls it at PUBLIC_GATEWAY_URL (see src/lib/env.ts).
// The container image (frontend/Dockerfile) builds with NEXT_OUTPUT=standalone: a self-contained
// server.js with only the node_modules it needs. The local stack keeps `next start`.
const config: NextConfig = {
  output: process.env.NEXT_OUTPUT === "standalone" ? "standalone" : undefined,
  poweredByHeader: false,
  reactStrictMode: true,
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
          { key: "X-Frame-Options", value: "DENY" },
        ],
      },
    ];
  },
};

export default config;
