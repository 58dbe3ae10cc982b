// A booking status as a coloured badge with its words (colour is never the only signal).
import type { Tone } from "@/lib/view/bookings";

const TONES: Record<Tone, string> = {
  pending: "bg-amber-100 text-amber-900",
  success: "bg-emerald-100 text-emerald-900",
  danger: "bg-red-100 text-red-900",
  neutral: "bg-slate-200 text-slate-800",
};

export function StatusBadge({ tone, label }: { tone: Tone; label: string }) {
  return (
    <span className={`inline-flex items-center gap-1 rounded-full px-2.5 py-0.5 text-xs font-semibold ${TONES[tone]}`} data-testid="status-badge">
      {tone === "pending" && <span aria-hidden="true" className="h-2 w-2 animate-pulse rounded-full bg-amber-500" />}
      {label}
    </span>
  );
}
