import type { Metadata } from "next";
import { NotificationsList } from "@/components/notifications-list";
import { RequireSession } from "@/components/require-session";

export const metadata: Metadata = { title: "Notifications" };

export default function NotificationsPage() {
  return (
    <RequireSession what="see your notifications">
      <NotificationsList />
    </RequireSession>
  );
}
