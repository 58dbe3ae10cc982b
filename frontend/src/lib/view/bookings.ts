// Bookings and notifications as the pages show them.
import type { Booking, Notification } from "../api/schemas";
import { formatDate, formatDateTime, formatMoney, formatStay, nightsBetween, plural, roomTypeLabel } from "../format";
import { hotelHref, stayQueryString } from "../search-criteria";

/** The booking states of DESIGN.md, plus whatever a newer API may add. */
export type BookingStatus = "PENDING" | "CONFIRMED" | "CANCELLED" | "EXPIRED" | "UNKNOWN";

/** How a status looks: a colour family for badges and panels. */
export type Tone = "pending" | "success" | "danger" | "neutral";

/** A booking, ready to show. */
export interface BookingView {
  id: string;
  href: string;
  hotelName: string;
  hotelHref: string;
  room: string;
  stay: string;
  nightsLabel: string;
  partyLabel: string;
  amount: string;
  status: BookingStatus;
  statusLabel: string;
  tone: Tone;
  /** One sentence on what happened and what it means for the guest. */
  explanation: string;
  /** For a failed payment: try again with another method. */
  retryHref?: string;
  canCancel: boolean;
  canReview: boolean;
  checkIn: string;
  hotelId: string;
}

const FAILURE_TEXT: Record<string, string> = {
  declined: "Your card was declined.",
  card_declined: "Your card was declined.",
  insufficient_funds: "Your card has insufficient funds.",
  processor_error: "The payment provider kept failing.",
  invalid_payment_method: "That payment method is not accepted.",
};

function statusOf(raw: string): BookingStatus {
  return raw === "PENDING" || raw === "CONFIRMED" || raw === "CANCELLED" || raw === "EXPIRED" ? raw : "UNKNOWN";
}

/** What a booking's state means, in words. */
export function explain(b: Booking): { statusLabel: string; tone: Tone; explanation: string } {
  switch (statusOf(b.status)) {
    case "PENDING":
      return { statusLabel: "Pending", tone: "pending", explanation: "Your rooms are held while we confirm the payment. This usually takes a few seconds." };
    case "CONFIRMED":
      return {
        statusLabel: "Confirmed",
        tone: "success",
        explanation: `You're booked. A confirmation has been sent to you. Check-in is on ${formatDate(b.checkIn)}.`,
      };
    case "EXPIRED":
      return { statusLabel: "Expired", tone: "neutral", explanation: "The hold on the rooms ran out before the payment completed. You have not been charged." };
    case "CANCELLED": {
      if (b.cancelReason === "payment_failed") {
        const why = (b.paymentFailure && FAILURE_TEXT[b.paymentFailure]) ?? "The payment did not go through.";
        return {
          statusLabel: "Payment failed",
          tone: "danger",
          explanation: `${why} You have not been charged, and the room has been released — you can try again with another payment method.`,
        };
      }
      if (b.cancelReason === "expired") {
        return {
          statusLabel: "Cancelled",
          tone: "neutral",
          explanation: "The hold on the rooms ran out before the payment completed. You have not been charged.",
        };
      }
      return { statusLabel: "Cancelled", tone: "neutral", explanation: "You cancelled this booking. Any payment taken is refunded to your card." };
    }
    default:
      return { statusLabel: b.status, tone: "neutral", explanation: "" };
  }
}

/** A booking as a view; `today` (ISO) decides whether it can still be cancelled or reviewed. */
export function toBookingView(b: Booking, today: string): BookingView {
  const status = statusOf(b.status);
  const nights = nightsBetween(b.checkIn, b.checkOut);
  const stay = { checkIn: b.checkIn, checkOut: b.checkOut, guests: b.guests, rooms: b.rooms };
  const started = b.checkIn <= today;
  return {
    id: b.id,
    href: `/bookings/${encodeURIComponent(b.id)}`,
    hotelName: b.hotelName || b.hotelId,
    hotelHref: hotelHref(b.hotelId, stay),
    room: `${roomTypeLabel(b.roomType)}${b.rooms > 1 ? ` × ${b.rooms}` : ""}`,
    stay: formatStay(b.checkIn, b.checkOut),
    nightsLabel: plural(nights, "night"),
    partyLabel: `${plural(b.guests, "guest")}, ${plural(b.rooms, "room")}`,
    amount: formatMoney(b.amountCents, b.currency),
    status,
    ...explain(b),
    retryHref:
      status === "CANCELLED" && b.cancelReason === "payment_failed" && !started
        ? `/book${stayQueryString(stay)}&hotelId=${encodeURIComponent(b.hotelId)}&roomType=${encodeURIComponent(b.roomType)}`
        : undefined,
    canCancel: status === "CONFIRMED" && !started,
    canReview: status === "CONFIRMED" && started,
    checkIn: b.checkIn,
    hotelId: b.hotelId,
  };
}

/** A sent message, ready to show. */
export interface NotificationView {
  id: string;
  channel: "Email" | "SMS" | string;
  title: string;
  recipient: string;
  body: string;
  when: string;
  delivered: boolean;
  statusLabel: string;
  bookingHref?: string;
}

export function toNotificationView(n: Notification): NotificationView {
  const channel = n.channel === "email" ? "Email" : n.channel === "sms" ? "SMS" : n.channel;
  const delivered = n.status === "sent";
  return {
    id: n.id,
    channel,
    title: n.subject || (n.template ? n.template.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase()) : `${channel} message`),
    recipient: n.recipient,
    body: n.bodyText ?? "",
    when: formatDateTime(n.sentAt ?? n.createdAt),
    delivered,
    statusLabel: delivered ? "Delivered" : n.status === "failed" ? "Could not be delivered" : "Sending",
    bookingHref: n.bookingId ? `/bookings/${encodeURIComponent(n.bookingId)}` : undefined,
  };
}
