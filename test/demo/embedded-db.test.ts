/**
 * The demo shop's embedded database on disk, as `npm run demo` opens it on a fresh clone: no
 * `.tessera-demo/` folder yet (issue 11, A1). The e2e test runs the shop with PGlite in memory,
 * so this is the check of the path a user runs.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { drizzle } from "drizzle-orm/pglite";
import { afterAll, describe, expect, it } from "vitest";
import { embeddedLocation, openEmbedded } from "../../examples/shop/lib/embedded-db.js";
import { migrate } from "../../src/stores/drizzle/index.js";

const root = mkdtempSync(path.join(tmpdir(), "tessera-demo-db-"));
/** The shop's drizzle-kit migrations, which it applies on its first request. */
const shopMigrations = fileURLToPath(new URL("../../examples/shop/drizzle/postgres", import.meta.url));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const mode = (dir: string) => statSync(dir).mode & 0o777;

async function count(where: string): Promise<number> {
  const client = await openEmbedded(where);
  try {
    await migrate(drizzle({ client }), { migrationsFolder: shopMigrations });
    const rows = await client.query<{ n: number }>("select count(*)::int as n from sessions");
    return rows.rows[0]?.n ?? -1;
  } finally {
    await client.close();
  }
}

describe("the demo shop's embedded database", () => {
  it("A1: defaults to .tessera-demo/shop under the working directory; SHOP_PGLITE moves it", () => {
    expect(embeddedLocation({}, "/clone")).toBe("/clone/.tessera-demo/shop");
    expect(embeddedLocation({ SHOP_PGLITE: "" }, "/clone")).toBe("/clone/.tessera-demo/shop");
    expect(embeddedLocation({ SHOP_PGLITE: "memory" }, "/clone")).toBe("memory");
    expect(embeddedLocation({ SHOP_PGLITE: "data/db" }, "/clone")).toBe("/clone/data/db");
  });

  it("A1: on a fresh clone (no .tessera-demo/ folder) it is created 0700, migrated, and opened again on a second start", async () => {
    const clone = path.join(root, "fresh-clone");
    const where = embeddedLocation({}, clone);
    // Neither the clone's folder nor .tessera-demo/ exists: PGlite alone failed here with ENOENT.
    expect(() => statSync(path.dirname(where))).toThrow();

    const first = await openEmbedded(where);
    try {
      await migrate(drizzle({ client: first }), { migrationsFolder: shopMigrations });
      await first.query(
        "insert into sessions (id, data, expires_at, created_at, updated_at, schema_version, rev) values ('h', '{}', now() + interval '1 day', now(), now(), 1, 1)",
      );
    } finally {
      await first.close();
    }
    expect(mode(path.join(clone, ".tessera-demo"))).toBe(0o700);
    expect(mode(where)).toBe(0o700);

    // A second start: the same folder, the migration a no-op, the row still there.
    expect(await count(where)).toBe(1);
  }, 120_000);
});
