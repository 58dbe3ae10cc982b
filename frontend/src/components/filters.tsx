// Results filters as a GET form (next/form: a client-side navigation, or a plain form without
// JavaScript); the URL it produces is the whole state of the results page. On a phone it folds
// into a "Filters" disclosure.
import Form from "next/form";
import Link from "next/link";
import { MobileDisclosure } from "./disclosure";
import { amenityLabel } from "@/lib/format";
import { COMMON_AMENITIES, DEFAULT_PAGE_SIZE, SORT_OPTIONS, hasStay, resultsHref, type SearchCriteria } from "@/lib/search-criteria";

/** Hidden inputs that carry what this form does not edit. */
function Carry({ c, sort = true }: { c: SearchCriteria; sort?: boolean }) {
  const keep: [string, string | number | undefined][] = [
    ["city", c.city || undefined],
    ["checkIn", c.checkIn],
    ["checkOut", c.checkOut],
    ["guests", c.guests],
    ["rooms", c.rooms],
    ["sort", !sort || c.sort === "popularity" ? undefined : c.sort],
    ["pageSize", c.pageSize === DEFAULT_PAGE_SIZE ? undefined : c.pageSize],
  ];
  return <>{keep.map(([name, value]) => (value === undefined ? null : <input key={name} type="hidden" name={name} value={value} />))}</>;
}

export function Filters({ criteria, seenAmenities }: { criteria: SearchCriteria; seenAmenities: string[] }) {
  const amenities = [...new Set([...COMMON_AMENITIES, ...seenAmenities.map((a) => a.toLowerCase()), ...criteria.amenities])].sort();
  const active =
    criteria.stars.length +
    criteria.amenities.length +
    (criteria.minRating ? 1 : 0) +
    (criteria.minPrice !== undefined || criteria.maxPrice !== undefined ? 1 : 0);
  const priceHint = hasStay(criteria) ? "Total for your whole stay" : "Per night — add dates to filter by total";
  const cleared = resultsHref(criteria, { stars: [], amenities: [], minRating: undefined, minPrice: undefined, maxPrice: undefined, page: 1 });

  return (
    <MobileDisclosure label="Filters" badge={active > 0 ? `${active} on` : undefined}>
      <Form action="/hotels" className="space-y-5 px-4 py-4" aria-label="Filter results">
        <Carry c={criteria} />
        <fieldset>
          <legend className="label">Price</legend>
          <p id="price-hint" className="-mt-1 mb-2 text-xs text-slate-500">
            {priceHint}
          </p>
          <div className="flex items-center gap-2">
            <label className="sr-only" htmlFor="filter-min-price">
              Minimum price
            </label>
            <input
              id="filter-min-price"
              name="minPrice"
              type="number"
              min={0}
              step="any"
              inputMode="decimal"
              placeholder="Min"
              defaultValue={criteria.minPrice}
              aria-describedby="price-hint"
              className="input"
            />
            <span aria-hidden="true" className="text-slate-400">
              –
            </span>
            <label className="sr-only" htmlFor="filter-max-price">
              Maximum price
            </label>
            <input
              id="filter-max-price"
              name="maxPrice"
              type="number"
              min={0}
              step="any"
              inputMode="decimal"
              placeholder="Max"
              defaultValue={criteria.maxPrice}
              aria-describedby="price-hint"
              className="input"
            />
          </div>
        </fieldset>

        <fieldset>
          <legend className="label">Stars</legend>
          <div className="grid grid-cols-5 gap-1.5">
            {[5, 4, 3, 2, 1].map((s) => (
              <label
                key={s}
                className="cursor-pointer rounded-lg border border-slate-300 bg-white py-1.5 text-center text-sm text-slate-700 has-[:checked]:border-brand-600 has-[:checked]:bg-brand-600 has-[:checked]:text-white has-[:focus-visible]:ring-2 has-[:focus-visible]:ring-brand-300"
              >
                <input type="checkbox" name="stars" value={s} defaultChecked={criteria.stars.includes(s)} className="sr-only" />
                {s}★<span className="sr-only"> stars</span>
              </label>
            ))}
          </div>
        </fieldset>

        <div>
          <label htmlFor="filter-rating" className="label">
            Guest rating
          </label>
          <select id="filter-rating" name="minRating" defaultValue={criteria.minRating ?? ""} className="input">
            <option value="">Any rating</option>
            <option value="3">3+ Good</option>
            <option value="4">4+ Very good</option>
            <option value="4.5">4.5+ Excellent</option>
          </select>
        </div>

        <fieldset>
          <legend className="label">Amenities</legend>
          <div className="grid grid-cols-2 gap-x-3 gap-y-1.5 md:grid-cols-1">
            {amenities.map((a) => (
              <label key={a} className="inline-flex cursor-pointer items-center gap-2 text-sm text-slate-700">
                <input type="checkbox" name="amenities" value={a} defaultChecked={criteria.amenities.includes(a)} className="h-4 w-4 accent-brand-600" />
                {amenityLabel(a)}
              </label>
            ))}
          </div>
        </fieldset>

        <div className="flex flex-wrap gap-2">
          <button type="submit" className="btn-primary flex-1">
            Apply filters
          </button>
          {active > 0 && (
            <Link href={cleared} className="btn-secondary">
              Clear
            </Link>
          )}
        </div>
      </Form>
    </MobileDisclosure>
  );
}

/** The sort order, as its own small GET form (keeps the filters, back to page 1). */
export function SortForm({ criteria }: { criteria: SearchCriteria }) {
  const filters: [string, string | number | undefined][] = [
    ["minPrice", criteria.minPrice],
    ["maxPrice", criteria.maxPrice],
    ["minRating", criteria.minRating],
    ["stars", criteria.stars.join(",") || undefined],
    ["amenities", criteria.amenities.join(",") || undefined],
  ];
  return (
    <Form action="/hotels" className="flex items-end gap-2" aria-label="Sort results">
      <Carry c={criteria} sort={false} />
      {filters.map(([name, value]) => (value === undefined ? null : <input key={name} type="hidden" name={name} value={value} />))}
      <div>
        <label htmlFor="sort" className="label">
          Sort by
        </label>
        <select id="sort" name="sort" defaultValue={criteria.sort} className="input py-1.5">
          {SORT_OPTIONS.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      </div>
      <button type="submit" className="btn-secondary py-2">
        Sort
      </button>
    </Form>
  );
}
