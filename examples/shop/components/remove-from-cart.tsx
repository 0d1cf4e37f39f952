"use client";
import { useRouter } from "next/navigation";
import { useTransition } from "react";
import { trpc } from "../lib/client";

export function RemoveFromCart({ sku }: { sku: string }) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  return (
    <button
      type="button"
      className="link"
      disabled={pending}
      aria-label={`Remove ${sku}`}
      onClick={() =>
        startTransition(async () => {
          await trpc.cart.remove.mutate({ sku });
          router.refresh();
        })
      }
    >
      Remove
    </button>
  );
}
