// Home: the stay search, then recommendations for a signed-in traveller or popular hotels.
// Popular hotels are rendered on the server, so the first paint already has content.
import { ErrorState } from "@/components/error-state";
import { HotelCard } from "@/components/hotel-card";
import { Recommended } from "@/components/recommended";
import { SearchForm } from "@/components/search-form";
import { api } from "@/lib/api/endpoints";
import { attempt, serverGateway } from "@/lib/api/server";
import { suggestedStay, todayIso } from "@/lib/dates";
import { parseCriteria } from "@/lib/search-criteria";
import { toHotelCard } from "@/lib/view/hotels";

async function Popular() {
  const popular = await attempt(api.searchHotels(serverGateway(), { sort: "popularity", pageSize: 6 }));
  return (
    <section aria-labelledby="popular-title">
      <h2 id="popular-title" className="text-xl font-semibold text-slate-900">
        Popular right now
      </h2>
      <p className="mt-1 text-sm text-slate-600">The hotels travellers book most.</p>
      <div className="mt-4">
        {!popular.ok ? (
          <ErrorState failure={popular.failure} compact />
        ) : popular.data.items.length === 0 ? (
          <p className="card p-6 text-center text-slate-600">No hotels are listed yet. Check back soon.</p>
        ) : (
          <ul className="grid gap-4">
            {popular.data.items.map((h) => (
              <li key={h.id}>
                <HotelCard hotel={toHotelCard(h)} />
              </li>
            ))}
          </ul>
        )}
      </div>
    </section>
  );
}

export default async function HomePage() {
  const today = todayIso();
  const criteria = { ...parseCriteria({}), ...suggestedStay() };
  return (
    <div className="space-y-10">
      <section aria-labelledby="home-title" className="space-y-4">
        <div>
          <h1 id="home-title" className="text-3xl font-bold tracking-tight text-slate-900 sm:text-4xl">
            Find your next stay
          </h1>
          <p className="mt-2 text-slate-600">Compare the total price for your dates and book in seconds.</p>
        </div>
        <SearchForm criteria={criteria} today={today} />
      </section>
      <Recommended fallback={<Popular />} />
    </div>
  );
}
