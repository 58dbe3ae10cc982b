// A hotel's reviews, newest first.
import type { ReviewView } from "@/lib/view/hotels";

export function ReviewsList({ reviews, total }: { reviews: ReviewView[]; total: number }) {
  if (reviews.length === 0) {
    return <p className="card p-6 text-center text-slate-600">No reviews yet. Guests can review their stay after check-in.</p>;
  }
  return (
    <div>
      <p className="text-sm text-slate-600">
        Showing {reviews.length} of {total}
      </p>
      <ul className="mt-3 grid gap-3">
        {reviews.map((r) => (
          <li key={r.id} className="card p-4">
            <div className="flex items-center justify-between gap-3">
              <p className="font-medium">{r.author}</p>
              <p className="text-amber-500" role="img" aria-label={`Rated ${r.rating} out of 5`}>
                {"★".repeat(r.rating)}
                <span className="text-slate-300">{"★".repeat(5 - r.rating)}</span>
              </p>
            </div>
            <p className="mt-2 whitespace-pre-line text-slate-700">{r.text}</p>
            <p className="mt-2 text-xs text-slate-500">{r.posted}</p>
          </li>
        ))}
      </ul>
    </div>
  );
}
