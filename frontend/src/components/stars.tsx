// A hotel's star category, readable by screen readers as one phrase.
export function Stars({ count }: { count: number }) {
  if (count <= 0) return null;
  return (
    <span className="text-sm tracking-tight text-amber-500" role="img" aria-label={`${count}-star hotel`}>
      {"★".repeat(count)}
      <span className="text-slate-300">{"★".repeat(Math.max(0, 5 - count))}</span>
    </span>
  );
}

/** A review score badge, e.g. "4.6". */
export function RatingBadge({ rating }: { rating?: { value: string; label: string } }) {
  if (!rating) return <span className="text-sm text-slate-500">No reviews yet</span>;
  return (
    <span className="inline-flex items-center gap-1 text-sm text-slate-700">
      <span className="rounded-md bg-brand-700 px-1.5 py-0.5 text-xs font-bold text-white" aria-hidden="true">
        {rating.value}
      </span>
      <span className="sr-only">{rating.label}</span>
      <span aria-hidden="true" className="text-slate-500">
        {rating.label.split(" from ")[1]}
      </span>
    </span>
  );
}
