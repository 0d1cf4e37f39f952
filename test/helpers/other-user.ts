/**
 * A second local user for the file store's attack tests (B5): runs a small Node script as
 * `nobody` through `setpriv`, as another account on a shared host would run it. Needs root (CI
 * runs as root); elsewhere `otherUser` is null and the tests that need it are skipped, except
 * under CI=true, where a missing second user is a failure rather than a silent skip.
 */
import { execFileSync, spawnSync } from "node:child_process";

export interface OtherUser {
  uid: number;
  gid: number;
  /** Runs `script` (an ES module's text) as this user with `args` in `process.argv.slice(1)`; its stdout. */
  run(script: string, ...args: string[]): string;
}

function detect(): OtherUser | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string) => Number(spawnSync("id", [flag, "nobody"], { encoding: "utf8" }).stdout.trim());
  const uid = id("-u");
  const gid = id("-g");
  if (!Number.isInteger(uid) || uid <= 0 || spawnSync("setpriv", ["--version"]).status !== 0) return null;
  return {
    uid,
    gid,
    run: (script, ...args) =>
      execFileSync(
        "setpriv",
        [`--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", process.execPath, "--input-type=module", "-e", script, ...args],
        { encoding: "utf8", cwd: "/" },
      ),
  };
}

export const otherUser = detect();

/** Skip (locally) or fail (under CI) when there is no second user. */
export const needsOtherUser = otherUser === null && process.env.CI !== "true";
