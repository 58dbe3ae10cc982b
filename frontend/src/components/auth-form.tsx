"use client";
// Sign in and sign up. Labels on every field, browser autofill hints, errors listed at the top
// (focused, announced) and next to each field; a rate limit disables the button until the
// retry time.
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { useEffect, useState, type FormEvent } from "react";
import { describeFailure, GatewayError } from "@/lib/api/errors";
import { MIN_PASSWORD_CHARS } from "@/lib/api/limits";
import { safeNext } from "@/lib/safe-next";
import { ErrorSummary, TextField } from "./field";
import { useSession } from "./providers";

type Mode = "signin" | "signup";
type Values = { name: string; email: string; password: string; phone: string };

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function check(mode: Mode, v: Values): Record<string, string> {
  const p: Record<string, string> = {};
  if (!EMAIL.test(v.email.trim())) p.email = "Enter an email address like name@example.com.";
  // Only the length is checked here; the server judges how guessable a password is (common
  // passwords, patterns, the email or name) and its reason is shown next to the field.
  if (mode === "signup" && [...v.password].length < MIN_PASSWORD_CHARS) p.password = `Use at least ${MIN_PASSWORD_CHARS} characters.`;
  if (mode === "signin" && v.password === "") p.password = "Enter your password.";
  if (mode === "signup" && v.phone.trim() && !/^\+[1-9]\d{6,14}$/.test(v.phone.trim())) {
    p.phone = "Use the international format, e.g. +351912345678.";
  }
  return p;
}

/** Field problems from a gateway `validation_failed` answer. */
function serverProblems(e: GatewayError): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of e.fieldProblems) out[f.field] = f.message.charAt(0).toUpperCase() + f.message.slice(1);
  return out;
}

export function AuthForm({ mode }: { mode: Mode }) {
  const { store, session } = useSession();
  const router = useRouter();
  const next = safeNext(useSearchParams().get("next"));
  const [v, setV] = useState<Values>({ name: "", email: "", password: "", phone: "" });
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [retryAt, setRetryAt] = useState<number>();
  const [, tick] = useState(0);
  const set = (k: keyof Values) => (e: { target: { value: string } }) => setV((old) => ({ ...old, [k]: e.target.value }));

  useEffect(() => {
    if (!retryAt) return;
    const id = setInterval(() => {
      tick((t) => t + 1);
      if (Date.now() >= retryAt) {
        setRetryAt(undefined);
        setFormError(undefined);
      }
    }, 500);
    return () => clearInterval(id);
  }, [retryAt]);

  const waitSeconds = retryAt ? Math.max(0, Math.ceil((retryAt - Date.now()) / 1000)) : 0;

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy || waitSeconds > 0) return;
    const found = check(mode, v);
    setProblems(found);
    setFormError(undefined);
    if (Object.keys(found).length > 0) {
      requestAnimationFrame(() => document.getElementById("auth-problems")?.focus());
      return;
    }
    setBusy(true);
    try {
      if (mode === "signin") await store.signIn(v.email.trim(), v.password);
      else await store.signUp({ email: v.email.trim(), password: v.password, name: v.name.trim() || undefined, phone: v.phone.trim() || undefined });
      router.replace(next);
    } catch (err) {
      if (err instanceof GatewayError && err.code === "invalid_credentials") {
        setFormError("That email and password don't match an account. Check them and try again.");
      } else if (err instanceof GatewayError && err.kind === "conflict") {
        setProblems({ email: "An account with this email already exists. Sign in instead." });
      } else if (err instanceof GatewayError && err.kind === "validation" && err.fieldProblems.length > 0) {
        setProblems(serverProblems(err));
      } else if (err instanceof GatewayError && err.kind === "rate_limited") {
        setRetryAt(Date.now() + (err.retryAfterSeconds ?? 5) * 1000);
        setFormError("Too many attempts from your connection.");
      } else {
        const f = describeFailure(err);
        setFormError(`${f.title}. ${f.message}`);
      }
      requestAnimationFrame(() => document.getElementById("auth-problems")?.focus());
    } finally {
      setBusy(false);
    }
  }

  const list = [
    ...(formError ? [{ text: waitSeconds > 0 ? `${formError} You can try again in ${waitSeconds} seconds.` : formError }] : []),
    ...Object.entries(problems).map(([field, text]) => ({ href: `#auth-${field}`, text })),
  ];
  const title = mode === "signin" ? "Sign in" : "Create your account";
  const otherHref = `${mode === "signin" ? "/signup" : "/signin"}${next !== "/" ? `?next=${encodeURIComponent(next)}` : ""}`;

  return (
    <div className="mx-auto max-w-md">
      <h1 className="text-2xl font-bold">{title}</h1>
      {session.status === "signed-in" && (
        <p className="mt-2 text-sm text-slate-600">You are signed in as {session.user.email}. Signing in again switches account.</p>
      )}
      <form noValidate onSubmit={submit} className="card mt-4 space-y-4 p-6" aria-label={title}>
        <ErrorSummary id="auth-problems" title={mode === "signin" ? "We couldn't sign you in" : "We couldn't create your account"} problems={list} />
        {mode === "signup" && (
          <TextField
            id="auth-name"
            label="Your name"
            autoComplete="name"
            value={v.name}
            onChange={set("name")}
            error={problems.name}
            hint="Shown on your reviews."
          />
        )}
        <TextField id="auth-email" label="Email" type="email" autoComplete="email" required value={v.email} onChange={set("email")} error={problems.email} />
        <TextField
          id="auth-password"
          label="Password"
          type="password"
          autoComplete={mode === "signin" ? "current-password" : "new-password"}
          required
          value={v.password}
          onChange={set("password")}
          error={problems.password}
          hint={
            mode === "signup"
              ? `At least ${MIN_PASSWORD_CHARS} characters and hard to guess: a few unrelated words work well, your name or email do not.`
              : undefined
          }
        />
        {mode === "signup" && (
          <TextField
            id="auth-phone"
            label="Mobile phone (optional)"
            type="tel"
            autoComplete="tel"
            value={v.phone}
            onChange={set("phone")}
            error={problems.phone}
            hint="For text messages about your bookings, e.g. +351912345678."
          />
        )}
        <button type="submit" className="btn-primary w-full py-2.5" disabled={busy || waitSeconds > 0}>
          {busy ? "Please wait…" : mode === "signin" ? "Sign in" : "Create account"}
        </button>
        <p className="text-center text-sm text-slate-600">
          {mode === "signin" ? "New to TripNest? " : "Already have an account? "}
          <Link className="link" href={otherHref}>
            {mode === "signin" ? "Create an account" : "Sign in"}
          </Link>
        </p>
      </form>
    </div>
  );
}
