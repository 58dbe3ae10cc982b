import { PageSkeleton } from "@/components/require-session";

export default function Loading() {
  return <PageSkeleton />;
}
