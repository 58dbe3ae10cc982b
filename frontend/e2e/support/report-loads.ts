// After all tests: print the first-load table recorded by recordLoad().
import { existsSync, readFileSync } from "node:fs";
import { LOADS_FILE, type PageLoad } from "./metrics";

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;

export default function reportLoads() {
  if (!existsSync(LOADS_FILE)) return;
  const loads = readFileSync(LOADS_FILE, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as PageLoad);
  if (loads.length === 0) return;
  console.log("\nFirst loads (cold browser context):");
  console.table(
    loads.map((l) => ({
      page: l.page,
      viewport: l.viewport,
      "TTFB ms": l.ttfbMs,
      "FCP ms": l.fcpMs,
      "DCL ms": l.domContentLoadedMs,
      "load ms": l.loadMs,
      "JS files": l.jsFiles,
      "JS gzip": kb(l.jsTransferBytes),
      "JS raw": kb(l.jsDecodedBytes),
    })),
  );
  console.log(`(raw data: ${LOADS_FILE})`);
}
