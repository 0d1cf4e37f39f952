import Link from "next/link";
import { LoginForm } from "../../components/login-form";
import { currentSession } from "../../lib/current";

export default async function LoginPage() {
  const session = await currentSession();
  const userId = session.get("userId");
  return (
    <section className="narrow card">
      <h1>Log in</h1>
      {userId === undefined ? (
        <p className="muted">
          Any name will do; there is no password in this demo. Logging in rotates the session: the cookie gets a new token, the
          old one stops working, and your cart comes along.
        </p>
      ) : (
        <p className="muted" data-testid="signed-in-as">
          You are signed in as <strong>{userId}</strong> (<Link href="/sessions">your sessions</Link>). Logging in as someone else
          starts them afresh: nothing of {userId}&rsquo;s cart or settings comes along, and this token stops working.
        </p>
      )}
      <LoginForm />
    </section>
  );
}
