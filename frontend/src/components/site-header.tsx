"use client";
// The top bar: brand, the main places, and who is signed in. On a phone the links move to a
// second, scrollable row; nothing is hidden behind a menu.
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { isManager } from "@/lib/session/store";
import { useSession } from "./providers";

const LINKS = [
  { href: "/", label: "Search", signedIn: false },
  { href: "/bookings", label: "My bookings", signedIn: true },
  { href: "/notifications", label: "Notifications", signedIn: true },
] as const;

export function SiteHeader() {
  const { session, store } = useSession();
  const pathname = usePathname();
  const router = useRouter();
  const signedIn = session.status === "signed-in";
  const links = [
    ...LINKS.filter((l) => !l.signedIn || signedIn),
    ...(signedIn && isManager(session.user.roles) ? [{ href: "/manager", label: "Manager", signedIn: true }] : []),
  ];
  const current = (href: string) => (href === "/" ? pathname === "/" : pathname.startsWith(href));

  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-6 gap-y-2 px-4 py-3">
        <Link href="/" className="flex items-center gap-2 text-xl font-bold tracking-tight text-brand-700">
          <span aria-hidden="true" className="grid h-8 w-8 place-items-center rounded-lg bg-brand-600 text-base text-white">
            TN
          </span>
          TripNest
        </Link>
        <nav aria-label="Main" className="order-3 -mx-4 w-full overflow-x-auto px-4 sm:order-none sm:mx-0 sm:w-auto sm:px-0">
          <ul className="flex gap-1 text-sm font-medium">
            {links.map((l) => (
              <li key={l.href}>
                <Link
                  href={l.href}
                  aria-current={current(l.href) ? "page" : undefined}
                  className="block whitespace-nowrap rounded-md px-3 py-2 text-slate-600 hover:bg-slate-100 hover:text-slate-900 aria-[current=page]:bg-brand-50 aria-[current=page]:text-brand-800"
                >
                  {l.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="ml-auto flex items-center gap-2 text-sm">
          {session.status === "loading" && <span className="h-8 w-28 animate-pulse rounded-md bg-slate-100" aria-hidden="true" />}
          {session.status === "anonymous" && (
            <>
              <Link href="/signin" className="btn-secondary">
                Sign in
              </Link>
              <Link href="/signup" className="btn-primary">
                Sign up
              </Link>
            </>
          )}
          {signedIn && (
            <>
              <span className="hidden max-w-48 truncate text-slate-600 md:inline" data-testid="signed-in-as">
                {session.user.name || session.user.email}
              </span>
              <button
                type="button"
                className="btn-secondary"
                onClick={async () => {
                  await store.signOut();
                  router.push("/");
                }}
              >
                Sign out
              </button>
            </>
          )}
        </div>
      </div>
    </header>
  );
}
