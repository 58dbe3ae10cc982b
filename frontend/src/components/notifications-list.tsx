"use client";
// What TripNest sent the traveller (emails and text messages), newest first.
import Link from "next/link";
import { useState } from "react";
import { api } from "@/lib/api/endpoints";
import type { NotificationPage } from "@/lib/api/schemas";
import { useLoad } from "@/lib/use-load";
import { toNotificationView } from "@/lib/view/bookings";
import { ErrorState } from "./error-state";
import { useGateway, useSession } from "./providers";
import { PageSkeleton } from "./require-session";

const PAGE_SIZE = 20;

export function NotificationsList() {
  const gateway = useGateway();
  const { store, session } = useSession();
  const [pages, setPages] = useState(1);
  const userKey = session.status === "signed-in" ? session.user.id : "";
  const { result, reload } = useLoad<NotificationPage>(
    () => store.authorized((token) => api.notifications(gateway, token, 1, PAGE_SIZE * pages)),
    `${userKey}:${pages}`,
  );

  if (result.state === "loading") return <PageSkeleton label="Loading your notifications…" />;
  if (result.state === "failed") return <ErrorState failure={result.failure} onRetry={reload} />;
  const items = result.data.items.map(toNotificationView);

  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h1 className="text-2xl font-bold">Notifications</h1>
        <button type="button" className="btn-secondary" onClick={reload}>
          Refresh
        </button>
      </div>
      {items.length === 0 ? (
        <div className="card p-8 text-center" data-testid="no-notifications">
          <p className="text-slate-600">Nothing yet. We will email you when a booking is confirmed or cancelled.</p>
        </div>
      ) : (
        <>
          <ul className="grid gap-3">
            {items.map((n) => (
              <li key={n.id} className="card p-4" data-testid="notification">
                <p className="flex flex-wrap items-center gap-x-2 gap-y-1 text-xs text-slate-500">
                  <span className="rounded bg-slate-100 px-1.5 py-0.5 font-semibold uppercase tracking-wide text-slate-600">{n.channel}</span>
                  <span className="break-all">to {n.recipient}</span>
                </p>
                <h2 className="mt-1 font-semibold">{n.title}</h2>
                <p className="mt-0.5 text-xs text-slate-500">
                  {n.when} · <span className={n.delivered ? "text-emerald-700" : "text-amber-700"}>{n.statusLabel}</span>
                </p>
                {n.body && (
                  <details className="mt-2 text-sm">
                    <summary className="cursor-pointer text-brand-700">Show message</summary>
                    <p className="mt-2 whitespace-pre-line text-slate-700">{n.body}</p>
                  </details>
                )}
                {n.bookingHref && (
                  <Link href={n.bookingHref} className="link mt-2 inline-block text-sm">
                    View booking
                  </Link>
                )}
              </li>
            ))}
          </ul>
          {items.length < result.data.total && (
            <button type="button" className="btn-secondary mx-auto flex" onClick={() => setPages((p) => p + 1)}>
              Show older notifications
            </button>
          )}
        </>
      )}
    </div>
  );
}
