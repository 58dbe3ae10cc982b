// Results: rendered on the server from the URL (filters, sort and page are all in it), so the
// list is in the first paint and every state has a shareable address.
import type { Metadata } from "next";
import Link from "next/link";
import { ErrorState } from "@/components/error-state";
import { Filters, SortForm } from "@/components/filters";
import { HotelCard } from "@/components/hotel-card";
import { Pagination } from "@/components/pagination";
import { SearchForm } from "@/components/search-form";
import { api } from "@/lib/api/endpoints";
import { attempt, serverGateway } from "@/lib/api/server";
import { todayIso } from "@/lib/dates";
import { formatStay, nightsBetween, plural } from "@/lib/format";
import { hasStay, parseCriteria, resultsHref, stayOf, toApiSearch, type RawParams, type SearchCriteria } from "@/lib/search-criteria";
import { toHotelCard } from "@/lib/view/hotels";

type Props = { searchParams: Promise<RawParams> };

const filtersOn = (c: SearchCriteria) =>
  c.stars.length > 0 || c.amenities.length > 0 || c.minRating !== undefined || c.minPrice !== undefined || c.maxPrice !== undefined;

export async function generateMetadata({ searchParams }: Props): Promise<Metadata> {
  const c = parseCriteria(await searchParams);
  return { title: c.city ? `Hotels in ${c.city}` : "Hotels" };
}

export default async function ResultsPage({ searchParams }: Props) {
  const criteria = parseCriteria(await searchParams);
  const result = await attempt(api.searchHotels(serverGateway(), toApiSearch(criteria)));
  const stay = stayOf(criteria);
  const where = criteria.city ? `in ${criteria.city}` : "everywhere";
  // Forms start from the URL: a new key per URL remounts them after a client-side navigation.
  const formKey = resultsHref(criteria);

  return (
    <div className="space-y-6">
      <SearchForm key={formKey} criteria={criteria} today={todayIso()} variant="bar" />
      <div className="grid gap-6 md:grid-cols-[16rem_1fr]">
        <aside aria-label="Filters">
          <Filters key={formKey} criteria={criteria} seenAmenities={result.ok ? result.data.items.flatMap((h) => h.amenities) : []} />
        </aside>
        <section aria-labelledby="results-title" aria-describedby="results-summary" className="min-w-0">
          <div className="flex flex-wrap items-end justify-between gap-3">
            <div>
              <h1 id="results-title" className="text-2xl font-bold text-slate-900" data-testid="results-title">
                {!result.ok ? `Hotels ${where}` : result.data.total === 0 ? `No hotels ${where}` : `${plural(result.data.total, "hotel")} ${where}`}
              </h1>
              <p id="results-summary" className="text-sm text-slate-600">
                {hasStay(criteria)
                  ? `${formatStay(criteria.checkIn, criteria.checkOut)} · ${plural(nightsBetween(criteria.checkIn, criteria.checkOut), "night")} · ${plural(criteria.guests, "guest")}, ${plural(criteria.rooms, "room")}`
                  : "Add your dates to see total prices and availability."}
              </p>
            </div>
            <SortForm key={formKey} criteria={criteria} />
          </div>

          <div className="mt-4">
            {!result.ok ? (
              <ErrorState failure={result.failure} />
            ) : result.data.items.length === 0 ? (
              <div className="card p-8 text-center" data-testid="no-results">
                <h2 className="text-lg font-semibold">No hotels match your search</h2>
                <p className="mt-1 text-slate-600">
                  {hasStay(criteria) ? "Everything may be booked for these dates. " : ""}
                  {filtersOn(criteria) ? "Try other dates, a wider price range or fewer filters." : "Try other dates or another city."}
                </p>
                {filtersOn(criteria) ? (
                  <Link
                    className="btn-secondary mt-4"
                    href={resultsHref(criteria, { stars: [], amenities: [], minRating: undefined, minPrice: undefined, maxPrice: undefined, page: 1 })}
                  >
                    Clear filters
                  </Link>
                ) : (
                  <Link className="btn-secondary mt-4" href="/">
                    Start a new search
                  </Link>
                )}
              </div>
            ) : (
              <>
                <p className="sr-only" role="status">
                  Showing page {result.data.page} of {Math.max(1, Math.ceil(result.data.total / result.data.pageSize))}
                </p>
                <ol className="grid gap-4" data-testid="results">
                  {result.data.items.map((h) => (
                    <li key={h.id}>
                      <HotelCard hotel={toHotelCard(h, stay ?? { guests: criteria.guests, rooms: criteria.rooms })} headingLevel={2} />
                    </li>
                  ))}
                </ol>
                <Pagination
                  page={result.data.page}
                  total={result.data.total}
                  pageSize={result.data.pageSize}
                  href={(page) => resultsHref(criteria, { page })}
                />
              </>
            )}
          </div>
        </section>
      </div>
    </div>
  );
}
