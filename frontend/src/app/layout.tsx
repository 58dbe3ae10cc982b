import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import { Providers } from "@/components/providers";
import { SessionBanner } from "@/components/session-banner";
import { SiteHeader } from "@/components/site-header";
import { env } from "@/lib/env";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "TripNest — find and book hotels", template: "%s · TripNest" },
  description: "Search hotels, compare total prices for your dates and book in seconds.",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1, themeColor: "#0d8a71" };

// Every page depends on live prices and availability (and reads the settings at run time).
export const dynamic = "force-dynamic";

export default function RootLayout({ children }: { children: ReactNode }) {
  const { publicGatewayUrl } = env();
  return (
    <html lang="en">
      <body className="flex min-h-screen flex-col">
        <a
          href="#main"
          className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2"
        >
          Skip to content
        </a>
        <Providers gatewayUrl={publicGatewayUrl}>
          <SiteHeader />
          <SessionBanner />
          <main id="main" className="mx-auto w-full max-w-6xl flex-1 px-4 py-6 sm:py-8">
            {children}
          </main>
          <footer className="border-t border-slate-200 bg-white">
            <p className="mx-auto max-w-6xl px-4 py-4 text-xs text-slate-500">
              TripNest — prices include all nights of your stay. Test payments only: no real card is charged.
            </p>
          </footer>
        </Providers>
      </body>
    </html>
  );
}
