"use client";
// The manager page: occupancy of the hotels this manager is listed on (the Hotel resource's
// spec.managers), night by night for the next 30 days, read-only. Hotels and inventory are
// changed as YAML with kubectl, so the page says so instead of offering edit buttons.
import { api } from "@/lib/api/endpoints";
import type { Occupancy } from "@/lib/api/schemas";
import { isManager } from "@/lib/session/store";
import { useLoad } from "@/lib/use-load";
import { type HotelOccupancyView, type Level, type NightColumn, toOccupancyView } from "@/lib/view/occupancy";
import { ErrorState } from "./error-state";
import { Icon } from "./icons";
import { useGateway, useSession } from "./providers";
import { PageSkeleton } from "./require-session";

const LEVEL_CLASSES: Record<Level, string> = {
  0: "bg-white text-slate-500",
  1: "bg-brand-50 text-brand-800 ring-1 ring-inset ring-brand-100",
  2: "bg-brand-100 text-brand-900",
  3: "bg-brand-200 text-brand-900",
  4: "bg-brand-600 text-white",
  closed: "bg-slate-200 text-slate-500",
  unopened: "bg-slate-50 text-slate-400",
};

const LEGEND: { level: Level; label: string }[] = [
  { level: 0, label: "empty" },
  { level: 1, label: "under half" },
  { level: 2, label: "half or more" },
  { level: 3, label: "80% or more" },
  { level: 4, label: "full" },
  { level: "closed", label: "closed" },
  { level: "unopened", label: "not open yet" },
];

export function ManagerOccupancy() {
  const { session } = useSession();
  if (session.status !== "signed-in") return null;
  if (!isManager(session.user.roles)) {
    return (
      <section className="card mx-auto max-w-lg p-8 text-center" data-testid="manager-forbidden">
        <h1 className="text-xl font-semibold">For hotel managers</h1>
        <p className="mt-1 text-slate-600">This page shows occupancy to hotel managers. Your account is a traveller account.</p>
      </section>
    );
  }
  return <OccupancyReport userId={session.user.id} />;
}

function OccupancyReport({ userId }: { userId: string }) {
  const gateway = useGateway();
  const { store } = useSession();
  const { result, reload } = useLoad<Occupancy>(() => store.authorized((token) => api.occupancy(gateway, token, 30)), userId);

  if (result.state === "loading") return <PageSkeleton label="Loading occupancy…" />;
  if (result.state === "failed") return <ErrorState failure={result.failure} onRetry={reload} />;
  const view = toOccupancyView(result.data);

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-2">
        <div>
          <h1 className="text-2xl font-bold">Occupancy of my hotels</h1>
          <p className="text-slate-600">
            {view.range}, read-only. Hotels and inventory are managed as YAML with <code className="rounded bg-slate-100 px-1">kubectl</code>.
          </p>
        </div>
        <button type="button" className="btn-secondary" onClick={reload}>
          Refresh
        </button>
      </div>
      {view.hotels.length === 0 ? (
        <section className="card p-8 text-center" data-testid="no-managed-hotels" role="status">
          <div className="mx-auto grid h-14 w-14 place-items-center rounded-full bg-brand-50 text-brand-600">
            <Icon name="chart" className="h-7 w-7" />
          </div>
          <h2 className="mt-2 text-lg font-semibold">No hotels list you as a manager</h2>
          <p className="mx-auto mt-1 max-w-md text-slate-600">
            Ask your platform team to add your email to the hotel&apos;s <code className="rounded bg-slate-100 px-1">spec.managers</code> and apply it with
            kubectl.
          </p>
        </section>
      ) : (
        <>
          <ul className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-600" aria-label="Legend">
            {LEGEND.map(({ level, label }) => (
              <li key={String(level)} className="flex items-center gap-1">
                <span className={`inline-block h-3 w-3 rounded-sm border border-slate-200 ${LEVEL_CLASSES[level]}`} aria-hidden="true" />
                {label}
              </li>
            ))}
          </ul>
          {view.hotels.map((h) => (
            <HotelOccupancyCard key={h.id} hotel={h} nights={view.nights} />
          ))}
        </>
      )}
    </div>
  );
}

function HotelOccupancyCard({ hotel, nights }: { hotel: HotelOccupancyView; nights: NightColumn[] }) {
  const headingId = `occupancy-${hotel.id}`;
  return (
    <section className="card p-4" aria-labelledby={headingId} data-testid="managed-hotel" data-hotel-id={hotel.id}>
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h2 id={headingId} className="text-lg font-semibold">
          {hotel.name} <span className="text-sm font-normal text-slate-500">· {hotel.city}</span>
        </h2>
        <p className="text-sm text-slate-600">
          <strong className="text-2xl text-slate-900" data-testid="occupancy-percent">
            {hotel.percent}
          </strong>{" "}
          occupied · <span data-testid="occupancy-summary">{hotel.summary}</span>
        </p>
      </div>
      <div className="mt-3 overflow-x-auto" tabIndex={0} role="region" aria-label={`${hotel.name}: nights of the next 30 days`}>
        <table className="border-separate border-spacing-0.5 text-center text-xs">
          <caption className="sr-only">Rooms booked of rooms for sale, per room type and night</caption>
          <thead>
            <tr>
              <th scope="col" className="sticky left-0 bg-white pr-2 text-left font-medium text-slate-500">
                Room type
              </th>
              {nights.map((n) => (
                <th key={n.iso} scope="col" className={`min-w-9 font-medium ${n.weekend ? "text-brand-700" : "text-slate-500"}`}>
                  <span className="block">{n.weekday}</span>
                  <span className="block">{n.day}</span>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {hotel.rows.map((row) => (
              <tr key={row.roomType} data-testid="occupancy-row">
                <th scope="row" className="sticky left-0 whitespace-nowrap bg-white pr-2 text-left font-medium">
                  {row.roomType}
                </th>
                {row.cells.map((c) => (
                  <td
                    key={c.iso}
                    title={c.label}
                    aria-label={c.label}
                    data-night={c.iso}
                    className={`rounded px-1 py-1.5 tabular-nums ${LEVEL_CLASSES[c.level]}`}
                  >
                    {c.text}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
