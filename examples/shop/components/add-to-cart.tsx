"use client";
import { useRouter } from "next/navigation";
import { type FormEvent, useState, useTransition } from "react";
import { messageOf, trpc } from "../lib/client";

/** Quantity + "Add to cart". The field is deliberately unconstrained: the session schema decides. */
export function AddToCart({ sku }: { sku: string }) {
  const router = useRouter();
  const [qty, setQty] = useState("1");
  const [error, setError] = useState<string | null>(null);
  const [pending, startTransition] = useTransition();

  function submit(event: FormEvent) {
    event.preventDefault();
    startTransition(async () => {
      try {
        await trpc.cart.add.mutate({ sku, qty: Number(qty) });
        setError(null);
        setQty("1");
        router.refresh();
      } catch (failure) {
        setError(messageOf(failure));
      }
    });
  }

  return (
    <form className="add" onSubmit={submit} noValidate>
      <label>
        <span className="sr-only">Quantity</span>
        <input
          type="number"
          inputMode="numeric"
          value={qty}
          onChange={(event) => setQty(event.target.value)}
          aria-label={`Quantity of ${sku}`}
          data-testid={`qty-${sku}`}
        />
      </label>
      <button type="submit" className="primary" disabled={pending} data-testid={`add-${sku}`}>
        Add to cart
      </button>
      {error === null ? null : (
        <p className="error" role="alert" data-testid={`error-${sku}`}>
          {error}
        </p>
      )}
    </form>
  );
}
