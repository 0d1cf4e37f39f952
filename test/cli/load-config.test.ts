import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CliFailure } from "../../src/cli/failure.js";
import { loadConfigOperator } from "../../src/cli/load-config.js";

/**
 * How `--config` modules load (issue 13.4): JavaScript natively, TypeScript through the app's
 * jiti. The modules here export a stand-in manager (the operator is found by its shape), so
 * they need no database. A TypeScript config with no jiti at all is checked on the packed
 * package (test/cli/cli-packed.test.ts): inside the repository jiti is always reachable.
 */
const dir = mkdtempSync(join(tmpdir(), "tessera-load-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const operator = `{ inspect() {}, revoke() {}, stats() {}, countExpired() {}, purge() {}, vacuum() {} }`;
const write = (name: string, code: string, folder = dir) => {
  mkdirSync(folder, { recursive: true });
  const path = join(folder, name);
  writeFileSync(path, code);
  return path;
};

async function failureOf(path: string): Promise<CliFailure> {
  const error = await loadConfigOperator(path).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(CliFailure);
  return error as CliFailure;
}

describe("loadConfigOperator", () => {
  it("imports .mjs, .js (in a module package) and .cjs configs natively", async () => {
    write("package.json", JSON.stringify({ type: "module" }));
    const configs = [
      write("named.mjs", `export const sessions = { operator: ${operator} };`),
      write("default.js", `export default { operator: ${operator} };`),
      write("common.cjs", `const sessions = { operator: ${operator} };\nmodule.exports = { sessions };`),
      write("common-literal.cjs", `module.exports = { sessions: { operator: ${operator} } };`),
    ];
    for (const config of configs) expect(typeof (await loadConfigOperator(config)).stats, config).toBe("function");
  });

  it("does not run a .js config through jiti: TypeScript syntax in it fails to load (exit 1)", async () => {
    const config = write("typed.mjs", `const dir: string = "x";\nexport const sessions = { operator: ${operator}, dir };`);
    const error = await failureOf(config);
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(/^cannot load .*typed\.mjs: /);
  });

  it("loads .ts, .mts and .cts configs through jiti, type annotations and all", async () => {
    const configs = [
      write("typed.ts", `const n: number = 1;\nexport const sessions = { operator: ${operator}, n };`),
      write("typed.mts", `const n: number = 1;\nexport default { operator: ${operator}, n };`),
      write("typed.cts", `const n: number = 1;\nexport const sessions = { operator: ${operator}, n };`),
    ];
    for (const config of configs) expect(typeof (await loadConfigOperator(config)).purge, config).toBe("function");
  });

  it("a jiti older than 2 beside the config is a usage error (exit 2) saying to install jiti@2", async () => {
    const app = join(dir, "old-jiti-app");
    write(
      "package.json",
      JSON.stringify({ name: "jiti", version: "1.21.7", main: "index.js" }),
      join(app, "node_modules", "jiti"),
    );
    write(
      "index.js",
      "module.exports = function jiti() { throw new Error('jiti 1 was used'); };",
      join(app, "node_modules", "jiti"),
    );
    const config = write("sessions.ts", `export const sessions = { operator: ${operator} };`, app);
    const error = await failureOf(config);
    expect(error.exitCode).toBe(2);
    expect(error.message).toBe(
      `--config ${config} is TypeScript and the jiti found is older than 2: install jiti@2 (npm install -D jiti@2), or compile it to .js`,
    );
  });

  it("a config that exports no manager exits 1 whichever way it loads", async () => {
    for (const config of [write("empty.mjs", "export const other = 1;"), write("empty.ts", "export const other: number = 1;")]) {
      const error = await failureOf(config);
      expect(error.exitCode).toBe(1);
      expect(error.message).toContain("exports no defineSession manager");
    }
  });
});
