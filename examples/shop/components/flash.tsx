"use client";
import { useEffect } from "react";
import { trpc } from "../lib/client";

/**
 * A flash message: the page renders it from the session, then this marks it read
 * (`consumeFlash`), so the next page does not show it again.
 */
export function Flash({ message }: { message: string }) {
  useEffect(() => {
    void trpc.flash.consume.mutate().catch(() => {});
  }, []);
  return (
    <p className="flash" role="status" data-testid="flash">
      {message}
    </p>
  );
}
