// Shown while the server renders results or a hotel page.
export default function Loading() {
  return (
    <div role="status" aria-live="polite" className="space-y-4">
      <span className="sr-only">Loading…</span>
      {[0, 1, 2].map((i) => (
        <div key={i} className="card flex animate-pulse gap-4 p-4" aria-hidden="true">
          <div className="hidden h-24 w-32 rounded-lg bg-slate-100 sm:block" />
          <div className="flex-1 space-y-2">
            <div className="h-5 w-1/2 rounded bg-slate-200" />
            <div className="h-4 w-1/3 rounded bg-slate-100" />
            <div className="h-4 w-2/3 rounded bg-slate-100" />
          </div>
          <div className="h-8 w-20 rounded bg-slate-200" />
        </div>
      ))}
    </div>
  );
}
