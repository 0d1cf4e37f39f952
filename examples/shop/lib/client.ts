"use client";
import { createTRPCClient, httpLink, TRPCClientError } from "@trpc/client";
import type { AppRouter } from "./router";

/** A plain tRPC client (no react-query): components call it, then refresh the page. */
export const trpc = createTRPCClient<AppRouter>({ links: [httpLink({ url: "/api/trpc" })] });

/** The message to show for a failed call. */
export function messageOf(error: unknown): string {
  if (error instanceof TRPCClientError) return error.message;
  return "Something went wrong. Try again.";
}
