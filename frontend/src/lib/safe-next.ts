// Where to go after signing in: only a path on this site, never another origin.

/** `next` if it is a local path (`/bookings?x=1`), else `/`. */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  return next;
}
