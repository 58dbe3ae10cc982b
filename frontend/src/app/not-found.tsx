import Link from "next/link";
import { Icon } from "@/components/icons";

export default function NotFound() {
  return (
    <section className="card mx-auto max-w-lg p-8 text-center">
      <div className="mx-auto grid h-14 w-14 place-items-center rounded-full bg-slate-100 text-slate-500">
        <Icon name="search" className="h-7 w-7" />
      </div>
      <h1 className="mt-2 text-xl font-semibold">We couldn&apos;t find that page</h1>
      <p className="mt-1 text-slate-600">The hotel may no longer be listed, or the link is mistyped.</p>
      <Link className="btn-primary mt-4" href="/">
        Search hotels
      </Link>
    </section>
  );
}
