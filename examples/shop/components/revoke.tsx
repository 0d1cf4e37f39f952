"use client";
import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { messageOf, trpc } from "../lib/client";

/** Signs one other device out: `revoke({ where: { userId, deviceId } })` on the server. */
export function RevokeButton({ tag }: { tag: string }) {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [pending, startTransition] = useTransition();
  return (
    <>
      <button
        type="button"
        className="danger"
        disabled={pending}
        data-testid={`revoke-${tag}`}
        onClick={() =>
          startTransition(async () => {
            try {
              await trpc.devices.revoke.mutate({ tag });
              router.refresh();
            } catch (failure) {
              setError(messageOf(failure));
            }
          })
        }
      >
        Revoke
      </button>
      {error === null ? null : <span className="error">{error}</span>}
    </>
  );
}

/** "Log out other devices": `revoke({ where: { userId }, except: session })`; this one stays signed in. */
export function RevokeOthersButton() {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  return (
    <button
      type="button"
      className="danger"
      disabled={pending}
      data-testid="revoke-others"
      onClick={() =>
        startTransition(async () => {
          await trpc.devices.revokeOthers.mutate();
          router.refresh();
        })
      }
    >
      Log out other devices
    </button>
  );
}
