"use client";
// The manager page. Occupancy per hotel for the next 30 days needs a public, manager-scoped
// API that the gateway does not offer yet (booking's inventory status is internal only), so
// this page says so plainly instead of guessing. Hotels themselves are managed as YAML.
import { Icon } from "./icons";
import { useSession } from "./providers";

export function ManagerOccupancy() {
  const { session } = useSession();
  if (session.status !== "signed-in") return null;
  const allowed = session.user.roles.includes("manager") || session.user.roles.includes("admin");
  if (!allowed) {
    return (
      <section className="card mx-auto max-w-lg p-8 text-center" data-testid="manager-forbidden">
        <h1 className="text-xl font-semibold">For hotel managers</h1>
        <p className="mt-1 text-slate-600">This page shows occupancy to hotel managers. Your account is a traveller account.</p>
      </section>
    );
  }
  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-bold">Occupancy of my hotels</h1>
      <p className="text-slate-600">The next 30 days, read-only. Hotels and inventory are managed as YAML with kubectl.</p>
      <section className="card p-8 text-center" data-testid="occupancy-unavailable" role="status">
        <div className="mx-auto grid h-14 w-14 place-items-center rounded-full bg-brand-50 text-brand-600">
          <Icon name="chart" className="h-7 w-7" />
        </div>
        <h2 className="mt-2 text-lg font-semibold">Occupancy is not available yet</h2>
        <p className="mx-auto mt-1 max-w-md text-slate-600">
          TripNest&apos;s public API does not publish occupancy to managers yet. Until it does, see each Inventory&apos;s status with{" "}
          <code className="rounded bg-slate-100 px-1">kubectl get inventories</code>.
        </p>
      </section>
    </div>
  );
}
