// One booking's live status (after "Book", and from My bookings).
import type { Metadata } from "next";
import { BookingStatus } from "@/components/booking-status";
import { RequireSession } from "@/components/require-session";

export const metadata: Metadata = { title: "Your booking" };

export default async function BookingPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return (
    <RequireSession what="see this booking">
      <BookingStatus id={id} />
    </RequireSession>
  );
}
