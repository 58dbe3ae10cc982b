// Browser tests against the running stack, driven by playwright-core in Debian's Chromium
// (`npx playwright install` cannot download browsers here). `bash dev/web.sh test` runs them.
import { defineConfig } from "@playwright/test";
import { stack } from "./e2e/support/stack";

const ARTIFACTS = "e2e/artifacts";

export default defineConfig({
  outputDir: `${ARTIFACTS}/test-results`,
  // One worker: the tests share the gateway's per-IP rate limits, and the last one spends them.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 120_000,
  expect: { timeout: 15_000 },
  reporter: [["list"], ["json", { outputFile: `${ARTIFACTS}/results.json` }]],
  globalSetup: "./e2e/support/reset-artifacts.ts",
  globalTeardown: "./e2e/support/report-loads.ts",
  use: {
    baseURL: stack.webUrl,
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      // Playwright gives every launch a fresh, empty --user-data-dir of its own.
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  projects: [
    // Pure functions of src/lib: no browser, no stack.
    { name: "unit", testDir: "src", testMatch: /\.test\.ts$/ },
    { name: "chromium", testDir: "e2e", use: { browserName: "chromium", viewport: { width: 1366, height: 900 } } },
  ],
});
