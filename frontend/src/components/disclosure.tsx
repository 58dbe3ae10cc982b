"use client";
// A panel that is always shown on wide screens and folds behind a button on a phone.
import { useId, useState, type ReactNode } from "react";

export function MobileDisclosure({ label, badge, children }: { label: string; badge?: string; children: ReactNode }) {
  const [open, setOpen] = useState(false);
  const panel = useId();
  return (
    <div className="card">
      <button
        type="button"
        className="flex w-full items-center justify-between px-4 py-3 text-left font-semibold md:hidden"
        aria-expanded={open}
        aria-controls={panel}
        onClick={() => setOpen((o) => !o)}
      >
        <span>
          {label}
          {badge && <span className="ml-2 rounded-full bg-brand-100 px-2 py-0.5 text-xs text-brand-800">{badge}</span>}
        </span>
        <span aria-hidden="true" className={`text-slate-400 transition-transform ${open ? "rotate-180" : ""}`}>
          ▾
        </span>
      </button>
      <h2 className="hidden px-4 pt-4 font-semibold md:block">{label}</h2>
      <div id={panel} className={`${open ? "block" : "hidden"} md:block`}>
        {children}
      </div>
    </div>
  );
}
