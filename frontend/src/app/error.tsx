"use client";
// Anything a page did not handle itself: a calm message and a way to try again.
import { useEffect } from "react";
import { ErrorState } from "@/components/error-state";

export default function PageError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  useEffect(() => {
    console.error(error);
  }, [error]);
  return (
    <ErrorState
      failure={{ kind: "server", title: "Something went wrong", message: "This page could not be shown. Please try again.", requestId: error.digest }}
      onRetry={reset}
    />
  );
}
