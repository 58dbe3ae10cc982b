// Liveness for dev/web.sh and process managers: the UI server answers (it does not call the
// gateway, so a gateway outage does not make the UI look dead).
export const dynamic = "force-dynamic";

export function GET() {
  return new Response("ok\n", { headers: { "content-type": "text/plain", "cache-control": "no-store" } });
}
