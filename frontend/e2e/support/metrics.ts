// First-load numbers of a page, read from the browser's own timing APIs right after a cold
// navigation: time to first byte, first contentful paint, DOMContentLoaded, load, and the
// JavaScript it fetched (compressed bytes on the wire, and uncompressed).
import { appendFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import type { Page } from "@playwright/test";

export const LOADS_FILE = path.join(__dirname, "..", "artifacts", "page-loads.jsonl");

export interface PageLoad {
  page: string;
  url: string;
  viewport: string;
  ttfbMs: number;
  fcpMs: number | null;
  domContentLoadedMs: number;
  loadMs: number;
  jsFiles: number;
  jsTransferBytes: number;
  jsDecodedBytes: number;
}

/** Measure the page that was just loaded (wait for `load` first) and record it. */
export async function recordLoad(page: Page, label: string): Promise<PageLoad> {
  await page.waitForLoadState("load");
  const timing = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
    const fcp = performance.getEntriesByName("first-contentful-paint")[0];
    const scripts = (performance.getEntriesByType("resource") as PerformanceResourceTiming[]).filter((r) => /\.js(\?|$)/.test(new URL(r.name).pathname));
    return {
      ttfbMs: Math.round(nav.responseStart),
      fcpMs: fcp ? Math.round(fcp.startTime) : null,
      domContentLoadedMs: Math.round(nav.domContentLoadedEventEnd),
      loadMs: Math.round(nav.loadEventEnd),
      jsFiles: scripts.length,
      jsTransferBytes: scripts.reduce((sum, r) => sum + r.encodedBodySize, 0),
      jsDecodedBytes: scripts.reduce((sum, r) => sum + r.decodedBodySize, 0),
    };
  });
  const size = page.viewportSize();
  const load: PageLoad = { page: label, url: new URL(page.url()).pathname, viewport: size ? `${size.width}x${size.height}` : "?", ...timing };
  mkdirSync(path.dirname(LOADS_FILE), { recursive: true });
  appendFileSync(LOADS_FILE, `${JSON.stringify(load)}\n`);
  return load;
}
