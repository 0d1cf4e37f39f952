import Link from "next/link";
import { RevokeButton, RevokeOthersButton } from "../../components/revoke";
import { currentSession } from "../../lib/current";
import { getSessions } from "../../lib/sessions";

const when = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short" });

function ago(date: Date, now: number): string {
  const seconds = Math.max(0, Math.round((now - date.getTime()) / 1000));
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  return when.format(date);
}

export default async function SessionsPage() {
  const session = await currentSession();
  const userId = session.get("userId");
  if (userId === undefined) {
    return (
      <section className="narrow card" data-testid="signed-out">
        <h1>Your sessions</h1>
        <p>You are not signed in.</p>
        <p>
          <Link href="/login" className="button primary">
            Log in
          </Link>
        </p>
      </section>
    );
  }
  const sessions = await getSessions();
  const list = await sessions.findMany({ where: { userId } });
  const now = Date.now();
  return (
    <section className="card wide">
      <div className="heading">
        <div>
          <h1>Your sessions</h1>
          <p className="muted">
            Every browser signed in as <strong>{userId}</strong>, newest first. Found with{" "}
            <code>{"sessions.findMany({ where: { userId } })"}</code>; each is named by a one-way tag, never its token.
          </p>
        </div>
        {list.length > 1 ? <RevokeOthersButton /> : null}
      </div>
      <table className="devices" data-testid="devices">
        <thead>
          <tr>
            <th>Device</th>
            <th>Tag</th>
            <th>Signed in</th>
            <th>Last active</th>
            <th>Expires</th>
            <th aria-label="Actions" />
          </tr>
        </thead>
        <tbody>
          {list.map((info) => {
            const current = info.tag === session.tag;
            return (
              <tr key={info.tag} data-testid="device-row" data-current={current ? "yes" : "no"}>
                <td>
                  {info.data.device ?? "Unknown device"}
                  {current ? <span className="badge">This device</span> : null}
                </td>
                <td>
                  <code>{info.tag}</code>
                </td>
                <td>{when.format(info.createdAt)}</td>
                <td>{ago(info.data.lastSeen ?? info.updatedAt, now)}</td>
                <td>{when.format(info.expiresAt)}</td>
                <td className="end">{current ? null : <RevokeButton tag={info.tag} />}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
