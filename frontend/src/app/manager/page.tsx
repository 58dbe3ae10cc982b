import type { Metadata } from "next";
import { ManagerOccupancy } from "@/components/manager-occupancy";
import { RequireSession } from "@/components/require-session";

export const metadata: Metadata = { title: "Manager" };

export default function ManagerPage() {
  return (
    <RequireSession what="see your hotels">
      <ManagerOccupancy />
    </RequireSession>
  );
}
