"use client";
// Change the dates, guests or rooms on a hotel page; reloads that page's availability.
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { stayQueryString } from "@/lib/search-criteria";
import { stayProblems } from "@/lib/stay-rules";
import { StayFields } from "./stay-fields";

export function StayForm({
  action,
  today,
  initial,
}: {
  action: string;
  today: string;
  initial: { checkIn?: string; checkOut?: string; guests: number; rooms: number };
}) {
  const router = useRouter();
  const [v, setV] = useState({
    checkIn: initial.checkIn ?? "",
    checkOut: initial.checkOut ?? "",
    guests: String(initial.guests),
    rooms: String(initial.rooms),
  });
  const [problems, setProblems] = useState<Record<string, string>>({});
  const set = (k: keyof typeof v) => (e: { target: { value: string } }) => setV((old) => ({ ...old, [k]: e.target.value }));

  function submit(e: FormEvent) {
    e.preventDefault();
    const stay = { ...v, guests: Number(v.guests), rooms: Number(v.rooms) };
    const found = stayProblems(stay, today, true);
    setProblems(found);
    const firstBad = Object.keys(found)[0];
    if (firstBad) {
      document.getElementById(`stay-${firstBad}`)?.focus();
      return;
    }
    router.push(action + stayQueryString(stay));
  }

  return (
    <form action={action} method="get" noValidate onSubmit={submit} aria-label="Your stay" className="grid grid-cols-2 gap-3 sm:grid-cols-5 sm:items-start">
      <StayFields idPrefix="stay" values={v} problems={problems} today={today} onChange={set} />
      <div className="col-span-2 sm:col-span-1 sm:pt-6">
        <button type="submit" className="btn-primary w-full py-2.5">
          Check availability
        </button>
      </div>
    </form>
  );
}
