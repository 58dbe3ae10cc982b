"use client";
// Home page picks: a signed-in traveller sees hotels recommended for them (with the reasons);
// everyone else, or anyone whose recommendations are empty or unavailable, sees `fallback`
// (the server-rendered popular hotels).
import type { ReactNode } from "react";
import { api } from "@/lib/api/endpoints";
import { useLoad } from "@/lib/use-load";
import { toHotelCard } from "@/lib/view/hotels";
import { HotelCard } from "./hotel-card";
import { useGateway, useSession } from "./providers";

export function Recommended({ fallback }: { fallback: ReactNode }) {
  const gateway = useGateway();
  const { session, store } = useSession();
  const signedIn = session.status === "signed-in";
  const { result } = useLoad(() => store.authorized((token) => api.recommendations(gateway, token, 6)), signedIn ? session.user.id : "anonymous", signedIn);
  if (!signedIn || result.state !== "loaded" || result.data.items.length === 0 || result.data.basis !== "personal") {
    return <>{fallback}</>;
  }
  return (
    <section aria-labelledby="picked-title">
      <h2 id="picked-title" className="text-xl font-semibold text-slate-900">
        Picked for you
      </h2>
      <p className="mt-1 text-sm text-slate-600">Based on your stays and reviews.</p>
      <ul className="mt-4 grid gap-4">
        {result.data.items.map((r) => (
          <li key={r.id}>
            <HotelCard
              hotel={toHotelCard(
                r,
                undefined,
                r.reasons.map((reason) => reason.text),
              )}
            />
          </li>
        ))}
      </ul>
    </section>
  );
}
