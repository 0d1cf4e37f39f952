import type { Metadata } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import { LogoutButton } from "../components/logout-button";
import { Ready } from "../components/ready";
import { ThemeToggle } from "../components/theme-toggle";
import { currentSession } from "../lib/current";
import { databaseLabel, shopDatabase } from "../lib/database";
import "./globals.css";

export const metadata: Metadata = {
  title: "Tessera Tea: a session demo",
  description: "A small Next.js + tRPC shop whose sessions are Tessera's.",
};

// Every page reads the session cookie.
export const dynamic = "force-dynamic";

function storeLabel(): string {
  const db = databaseLabel(shopDatabase());
  return process.env.REDIS_URL ? `${db} + Redis cache` : db;
}

export default async function RootLayout({ children }: { children: ReactNode }) {
  const session = await currentSession();
  const theme = session.get("theme");
  const userId = session.get("userId");
  const items = session.get("cart").reduce((sum, item) => sum + item.qty, 0);
  return (
    <html lang="en" data-theme={theme}>
      <body>
        <Ready />
        <header className="topbar">
          <Link href="/" className="brand">
            <span className="logo" aria-hidden="true">
              ◆
            </span>
            Tessera Tea
          </Link>
          <nav>
            <Link href="/">Shop</Link>
            <Link href="/sessions">Your sessions</Link>
          </nav>
          <div className="actions">
            <span className="pill" data-testid="cart-count">
              Cart · {items}
            </span>
            <ThemeToggle theme={theme} />
            {userId === undefined ? (
              <Link href="/login" className="button primary" data-testid="login-link">
                Log in
              </Link>
            ) : (
              <>
                <span className="who" data-testid="who">
                  Signed in as <strong>{userId}</strong>
                </span>
                <LogoutButton />
              </>
            )}
          </div>
        </header>
        <main>{children}</main>
        <footer>
          Sessions by Tessera, stored in {storeLabel()}. The cookie holds a random token; the database holds only its SHA-256.
        </footer>
      </body>
    </html>
  );
}
