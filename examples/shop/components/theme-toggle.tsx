"use client";
import { useRouter } from "next/navigation";
import { useTransition } from "react";
import { trpc } from "../lib/client";

export function ThemeToggle({ theme }: { theme: "light" | "dark" }) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const next = theme === "light" ? "dark" : "light";
  return (
    <button
      type="button"
      disabled={pending}
      data-testid="theme-toggle"
      title={`Switch to the ${next} theme`}
      onClick={() =>
        startTransition(async () => {
          await trpc.theme.mutate({ theme: next });
          router.refresh();
        })
      }
    >
      {next === "dark" ? "☾ Dark" : "☀ Light"}
    </button>
  );
}
