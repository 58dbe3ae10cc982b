// Page links for a list; the current page is marked for screen readers.
import Link from "next/link";

function pagesToShow(page: number, last: number): (number | "gap")[] {
  const wanted = new Set([1, last, page - 1, page, page + 1].filter((p) => p >= 1 && p <= last));
  const sorted = [...wanted].sort((a, b) => a - b);
  const out: (number | "gap")[] = [];
  sorted.forEach((p, i) => {
    const prev = sorted[i - 1];
    if (i > 0 && prev !== undefined && p - prev > 1) out.push("gap");
    out.push(p);
  });
  return out;
}

export function Pagination({ page, total, pageSize, href }: { page: number; total: number; pageSize: number; href: (page: number) => string }) {
  const last = Math.max(1, Math.ceil(total / pageSize));
  if (last <= 1) return null;
  const item = "grid h-10 min-w-10 place-items-center rounded-lg px-3 text-sm font-medium";
  return (
    <nav aria-label="Pagination" className="mt-6 flex flex-wrap items-center justify-center gap-1">
      {page > 1 ? (
        <Link className={`${item} border border-slate-300 bg-white hover:bg-slate-100`} href={href(page - 1)} rel="prev">
          ‹ Previous
        </Link>
      ) : (
        <span className={`${item} text-slate-400`} aria-hidden="true">
          ‹ Previous
        </span>
      )}
      {pagesToShow(page, last).map((p, i) =>
        p === "gap" ? (
          <span key={`gap${i}`} className="px-1 text-slate-400" aria-hidden="true">
            …
          </span>
        ) : (
          <Link
            key={p}
            href={href(p)}
            aria-current={p === page ? "page" : undefined}
            aria-label={`Page ${p}`}
            className={`${item} ${p === page ? "bg-brand-600 text-white" : "border border-slate-300 bg-white hover:bg-slate-100"}`}
          >
            {p}
          </Link>
        ),
      )}
      {page < last ? (
        <Link className={`${item} border border-slate-300 bg-white hover:bg-slate-100`} href={href(page + 1)} rel="next">
          Next ›
        </Link>
      ) : (
        <span className={`${item} text-slate-400`} aria-hidden="true">
          Next ›
        </span>
      )}
    </nav>
  );
}
