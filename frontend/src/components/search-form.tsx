"use client";
// The stay search: city, dates, guests and rooms. Checked in the browser (dates in order, not
// in the past), then it navigates to the results page. Without JavaScript it is a plain GET
// form to /hotels, which the server validates.
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { resultsHref, type SearchCriteria } from "@/lib/search-criteria";
import { stayProblems } from "@/lib/stay-rules";
import { ErrorSummary, TextField } from "./field";
import { StayFields } from "./stay-fields";

export interface SearchFormProps {
  /** Current criteria (results page) or the suggested stay (home). */
  criteria: SearchCriteria;
  today: string;
  variant?: "hero" | "bar";
}

export function SearchForm({ criteria, today, variant = "hero" }: SearchFormProps) {
  const router = useRouter();
  const [values, setValues] = useState({
    city: criteria.city,
    checkIn: criteria.checkIn ?? "",
    checkOut: criteria.checkOut ?? "",
    guests: String(criteria.guests),
    rooms: String(criteria.rooms),
  });
  const [problems, setProblems] = useState<Record<string, string>>({});
  const set = (name: keyof typeof values) => (e: { target: { value: string } }) => setValues((v) => ({ ...v, [name]: e.target.value }));

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const found = stayProblems({ ...values, guests: Number(values.guests), rooms: Number(values.rooms) }, today, true);
    setProblems(found);
    if (Object.keys(found).length > 0) {
      requestAnimationFrame(() => document.getElementById("search-problems")?.focus());
      return;
    }
    router.push(
      resultsHref(criteria, {
        city: values.city.trim(),
        checkIn: values.checkIn,
        checkOut: values.checkOut,
        guests: Number(values.guests),
        rooms: Number(values.rooms),
        page: 1,
      }),
    );
  }

  const hero = variant === "hero";
  return (
    <form
      action="/hotels"
      method="get"
      noValidate
      onSubmit={submit}
      aria-label="Search hotels"
      className={hero ? "card space-y-4 p-4 sm:p-6" : "card space-y-3 p-3 sm:p-4"}
    >
      <ErrorSummary
        id="search-problems"
        title="Please fix your search"
        problems={Object.entries(problems).map(([field, text]) => ({ href: `#search-${field}`, text }))}
      />
      <div className="grid grid-cols-2 gap-3 md:grid-cols-12 md:items-start">
        <TextField
          id="search-city"
          name="city"
          label="Where to?"
          placeholder="City, e.g. Lisbon"
          autoComplete="address-level2"
          value={values.city}
          onChange={set("city")}
          className="col-span-2 md:col-span-4"
        />
        <StayFields
          idPrefix="search"
          values={values}
          problems={problems}
          today={today}
          onChange={set}
          datesRequired
          dateClassName="md:col-span-2"
          countClassName="md:col-span-1"
        />
        <div className="col-span-2 md:col-span-2 md:pt-6">
          <button type="submit" className="btn-primary w-full py-2.5">
            Search
          </button>
        </div>
      </div>
    </form>
  );
}
