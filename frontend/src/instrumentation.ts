// Runs once when the Next server starts: a bad setting stops the server with a clear message
// instead of failing the first request.
export async function register() {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { env } = await import("@/lib/env");
    const settings = env();
    console.log(`TripNest web: gateway ${settings.gatewayUrl} (browser: ${settings.publicGatewayUrl})`);
  }
}
