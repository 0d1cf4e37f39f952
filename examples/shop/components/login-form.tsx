"use client";
import { useRouter } from "next/navigation";
import { type FormEvent, useState, useTransition } from "react";
import { messageOf, trpc } from "../lib/client";

export function LoginForm() {
  const router = useRouter();
  const [username, setUsername] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [pending, startTransition] = useTransition();

  function submit(event: FormEvent) {
    event.preventDefault();
    startTransition(async () => {
      try {
        await trpc.auth.login.mutate({ username });
        router.push("/");
        router.refresh();
      } catch (failure) {
        setError(messageOf(failure));
      }
    });
  }

  return (
    <form className="stack" onSubmit={submit} noValidate>
      <label>
        Your name
        <input
          name="username"
          autoComplete="username"
          value={username}
          onChange={(event) => setUsername(event.target.value)}
          data-testid="username"
        />
      </label>
      <button type="submit" className="primary" disabled={pending} data-testid="login-submit">
        Log in
      </button>
      {error === null ? null : (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
