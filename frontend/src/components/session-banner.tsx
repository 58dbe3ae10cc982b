"use client";
// Shown on every page once a session could not be renewed, until the user signs in again.
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useSession } from "./providers";

export function SessionBanner() {
  const { session } = useSession();
  const pathname = usePathname();
  if (session.status !== "anonymous" || !session.expired || pathname.startsWith("/signin")) return null;
  return (
    <div role="status" className="border-b border-amber-200 bg-amber-50">
      <p className="mx-auto max-w-6xl px-4 py-2 text-sm text-amber-900">
        Your session has expired, so you were signed out.{" "}
        <Link className="font-semibold underline" href={`/signin?next=${encodeURIComponent(pathname)}`}>
          Sign in again
        </Link>
      </p>
    </div>
  );
}
