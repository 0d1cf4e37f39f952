"use client";
import { useRouter } from "next/navigation";
import { useTransition } from "react";
import { trpc } from "../lib/client";

/** `session.destroy()`: the record is deleted and the cookie cleared. */
export function LogoutButton() {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  return (
    <button
      type="button"
      disabled={pending}
      data-testid="logout"
      onClick={() =>
        startTransition(async () => {
          await trpc.auth.logout.mutate();
          router.push("/");
          router.refresh();
        })
      }
    >
      Log out
    </button>
  );
}
