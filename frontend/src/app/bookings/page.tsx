import type { Metadata } from "next";
import { MyBookings } from "@/components/my-bookings";
import { RequireSession } from "@/components/require-session";

export const metadata: Metadata = { title: "My bookings" };

export default function BookingsPage() {
  return (
    <RequireSession what="see your bookings">
      <MyBookings />
    </RequireSession>
  );
}
