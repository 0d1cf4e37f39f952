import { beforeAll, describe, it } from "vitest";
import { ensureBuilt, failed, fixture, json, ok, tessera } from "./cli.js";

// Nothing listens on port 1: connecting fails at once, and usage errors must be found before that.
const nowhere = "postgres://postgres@127.0.0.1:1/nope";
const withPassword = "postgres://postgres:secret@127.0.0.1:1/nope";

beforeAll(ensureBuilt, 180_000);

describe.concurrent("tessera usage errors (exit 2)", () => {
  const usage: [string, string[]][] = [
    ["an unknown command", ["frobnicate"]],
    ["an unknown option", ["migrate", "--frobnicate"]],
    ["revoke without --where", ["revoke"]],
    ["inspect without --where", ["inspect"]],
    ["--where without =", ["revoke", "--where", "userId"]],
    ["--where without a field", ["revoke", "--where", "=u_123"]],
    ["--where field:= with text that is not JSON", ["revoke", "--where", "tenant:=abc"]],
    ["--where field:= with JSON that is neither a number nor a boolean", ["inspect", "--where", "tenant:=null"]],
    ["purge --batch 0", ["purge", "--batch", "0"]],
    ["purge --batch -5", ["purge", "--batch=-5"]],
    ["purge --batch 1.5", ["purge", "--batch", "1.5"]],
    ["purge --batch abc", ["purge", "--batch", "abc"]],
    ["stats --top abc", ["stats", "--top", "abc"]],
    ["inspect --limit abc", ["inspect", "--where", "userId=u_1", "--limit", "abc"]],
  ];
  for (const [what, args] of usage) {
    it(`${what} exits 2 with one line on stderr, before connecting`, async ({ expect }) => {
      const result = await tessera([...args, "--database-url", nowhere]);
      failed(result, 2);
      expect(result.stdout).toBe("");
    });
  }

  it("a field of the schema that a redisStore does not index exits 2", async () => {
    failed(await tessera(["revoke", "--where", "roles=admin", "--config", fixture("redis-config.ts")]), 2);
  });

  it("with --config, a field not in the app's schema exits 2 naming it (sessions.operator checks it)", async ({ expect }) => {
    for (const command of ["revoke", "inspect"]) {
      const result = await tessera([command, "--where", "theme=dark", "--config", fixture("redis-config.ts")]);
      expect(failed(result, 2)).toContain('"theme" is not in the schema');
    }
  });
});

describe.concurrent("tessera failures (exit 1)", () => {
  const commands = [["migrate"], ["purge"], ["stats"], ["revoke", "--where", "userId=u_1"], ["inspect", "--where", "userId=u_1"]];
  for (const args of commands) {
    it(`${args[0]} at an unreachable server exits 1 with one line, no stack, no password`, async ({ expect }) => {
      const result = await tessera([...args, "--database-url", withPassword]);
      failed(result, 1);
      expect(result.stderr).not.toContain("secret");
    });
  }

  it("a password from $DATABASE_URL or in a password= parameter is not printed either", async ({ expect }) => {
    for (const run of [
      tessera(["migrate"], { env: { DATABASE_URL: withPassword } }),
      tessera(["stats", "--database-url", "postgres://postgres@127.0.0.1:1/nope?password=secret"]),
    ]) {
      const result = await run;
      failed(result, 1);
      expect(result.stderr).not.toContain("secret");
    }
  });

  it("no database at all (no --database-url, no $DATABASE_URL) fails with one line", async ({ expect }) => {
    const result = await tessera(["migrate"]);
    // docs/cli.md lists it under neither code explicitly; 1 and 2 both honour the contract.
    expect([1, 2]).toContain(result.code);
    failed(result, result.code as 1 | 2);
  });

  it("a --config file that does not exist exits 1", async () => {
    failed(await tessera(["stats", "--config", fixture("no-such-config.ts")]), 1);
  });

  it("a --config that throws while loading exits 1 and says why in one line", async ({ expect }) => {
    expect(failed(await tessera(["stats", "--config", fixture("throws.ts")]), 1)).toContain("SESSION_SECRET is not set");
  });

  it("a --config that exports no defineSession manager exits 1", async () => {
    failed(await tessera(["stats", "--config", fixture("no-manager.ts")]), 1);
  });

  it("stats on a store that is not a Drizzle store exits 1 saying so", async () => {
    failed(await tessera(["stats", "--config", fixture("redis-config.ts")]), 1);
  });

  it("purge on a store that expires sessions by itself (redisStore) deletes 0", async ({ expect }) => {
    expect(json(await tessera(["purge", "--json", "--config", fixture("redis-config.ts")]))).toMatchObject({
      deleted: 0,
      dryRun: false,
    });
  });
});

describe.concurrent("tesserae --help", () => {
  const options: Record<string, string[]> = {
    migrate: ["--database-url", "--json"],
    purge: ["--batch", "--dry-run", "--no-vacuum", "--json", "--config", "--database-url"],
    stats: ["--top", "--json", "--config", "--database-url"],
    revoke: ["--where", "--json", "--config", "--database-url", "--redis-url"],
    inspect: ["--where", "--limit", "--config", "--database-url"],
  };
  for (const [command, names] of Object.entries(options)) {
    it(`${command} --help exits 0 and names ${names.join(", ")}`, async ({ expect }) => {
      const help = ok(await tessera([command, "--help"]));
      for (const name of names) expect(help).toContain(name);
    });
  }

  it("--help exits 0 and names every command", async ({ expect }) => {
    const help = ok(await tessera(["--help"]));
    for (const command of Object.keys(options)) expect(help).toContain(command);
  });
});
