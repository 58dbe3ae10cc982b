// Display formatting shared by server and client, deterministic on both (dates in UTC), so
// server-rendered text never differs from what the browser hydrates.

const digitsCache = new Map<string, number>();

function fractionDigits(currency: string): number {
  let digits = digitsCache.get(currency);
  if (digits === undefined) {
    try {
      digits = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      digits = 2;
    }
    digitsCache.set(currency, digits);
  }
  return digits;
}

/** An amount in minor units as money, e.g. `formatMoney(24000, "EUR")` → "€240". */
export function formatMoney(minorUnits: number, currency: string): string {
  const digits = fractionDigits(currency);
  const amount = minorUnits / 10 ** digits;
  const whole = Number.isInteger(amount);
  try {
    return new Intl.NumberFormat("en-GB", {
      style: "currency",
      currency,
      minimumFractionDigits: whole ? 0 : digits,
      maximumFractionDigits: digits,
    }).format(amount);
  } catch {
    return `${amount.toFixed(digits)} ${currency}`;
  }
}

/** Minor units per major unit of `currency` (100 for EUR, 1 for JPY). */
export function minorPerMajor(currency = "EUR"): number {
  return 10 ** fractionDigits(currency);
}

const dateFormat = new Intl.DateTimeFormat("en-GB", { weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
const shortDateFormat = new Intl.DateTimeFormat("en-GB", { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" });
const dateTimeFormat = new Intl.DateTimeFormat("en-GB", {
  day: "numeric",
  month: "short",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  timeZone: "UTC",
  timeZoneName: "short",
});

function utcDate(isoDate: string): Date | undefined {
  const d = new Date(`${isoDate.slice(0, 10)}T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** `2027-05-01` → "Sat 1 May 2027". */
export function formatDate(isoDate: string): string {
  const d = utcDate(isoDate);
  return d ? dateFormat.format(d) : isoDate;
}

/** `2027-05-01` → "Sat 1 May". */
export function formatShortDate(isoDate: string): string {
  const d = utcDate(isoDate);
  return d ? shortDateFormat.format(d) : isoDate;
}

/** A timestamp with date and time (UTC). */
export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTimeFormat.format(d);
}

/** "Sat 1 May – Mon 3 May 2027". */
export function formatStay(checkIn: string, checkOut: string): string {
  return `${formatShortDate(checkIn)} – ${formatDate(checkOut)}`;
}

/** Nights between two ISO dates (0 when either is invalid). */
export function nightsBetween(checkIn: string, checkOut: string): number {
  const a = utcDate(checkIn);
  const b = utcDate(checkOut);
  if (!a || !b) return 0;
  return Math.round((b.getTime() - a.getTime()) / 86_400_000);
}

/** "1 night", "3 nights". */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** An amenity key as a label: `air-conditioning` → "Air conditioning". */
export function amenityLabel(key: string): string {
  const words = key.replace(/[-_]+/g, " ").trim();
  if (words.toLowerCase() === "wifi") return "Wi-Fi";
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A room type name as a label: `double-deluxe` → "Double deluxe". */
export function roomTypeLabel(name: string): string {
  return amenityLabel(name);
}
