import { execFile, spawnSync } from "node:child_process";
import { chown, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./redis-server.js";

const run = promisify(execFile);

/**
 * The account a private cluster runs as: PostgreSQL refuses to run as root, so a root test run
 * (CI's container) hands the cluster to the `postgres` user; anyone else runs it as themselves.
 */
function clusterOwner(): { uid: number; gid: number } | null | undefined {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string) => spawnSync("id", [flag, "postgres"], { encoding: "utf8" });
  const uid = id("-u");
  const gid = id("-g");
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

const owner = clusterOwner();

/**
 * Whether tests can create their own PostgreSQL cluster: `initdb` and `pg_ctl` on the PATH and,
 * when running as root, a `postgres` user to run it as.
 */
export const canStartPostgres =
  owner !== undefined &&
  spawnSync("initdb", ["--version"], { stdio: "ignore" }).status === 0 &&
  spawnSync("pg_ctl", ["--version"], { stdio: "ignore" }).status === 0;

/** A PostgreSQL cluster this test created in a temporary folder, on its own port on 127.0.0.1. */
export interface PrivatePostgres {
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication, loopback only). */
  url: string;
  /** The postmaster's pid while it runs (from `postmaster.pid`), else null. */
  pid(): Promise<number | null>;
  /** `pg_ctl stop -m fast`: sessions are ended, committed work is kept, the port closes. */
  stop(): Promise<void>;
  /** `pg_ctl start` again on the same folder and port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops the server whatever its state (immediate mode, then its pid) and deletes the folder. */
  destroy(): Promise<void>;
}

/**
 * `initdb` in a fresh temporary folder and `pg_ctl start` on a free port from `base` up, with the
 * socket in that folder and TCP on 127.0.0.1 only. Never touches the shared server. Call
 * `destroy()` in `afterAll`; it stops the cluster by its own data folder and pid.
 */
export async function startPostgres(base = 25_432): Promise<PrivatePostgres> {
  if (!canStartPostgres || owner === undefined) throw new Error("initdb/pg_ctl are not available");
  const dir = await mkdtemp(join(tmpdir(), "tessera-pg-"));
  const data = join(dir, "data");
  const log = join(dir, "server.log");
  if (owner !== null) await chown(dir, owner.uid, owner.gid);
  // HOME/PG* of the test run must not leak into the cluster's tools (a PGPORT of the shared server).
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
  const as = owner === null ? { env } : { env, uid: owner.uid, gid: owner.gid };
  const tool = (command: string, args: string[]) => run(command, args, { ...as, timeout: 60_000 });

  let port = 0;
  const pid = async () => {
    const text = await readFile(join(data, "postmaster.pid"), "utf8").catch(() => "");
    const value = Number.parseInt(text.split("\n")[0] ?? "", 10);
    return Number.isInteger(value) && value > 0 ? value : null;
  };
  const start = async () => {
    await tool("pg_ctl", [
      "-D",
      data,
      "-l",
      log,
      "-w",
      "-t",
      "30",
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
      "start",
    ]);
  };
  const destroy = async () => {
    const running = await pid();
    await tool("pg_ctl", ["-D", data, "-m", "immediate", "-w", "-t", "10", "stop"]).catch(() => undefined);
    if (running !== null && alive(running)) process.kill(running, "SIGKILL");
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await tool("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"]);
    port = await freePort(base);
    await start();
  } catch (error) {
    await destroy();
    const text = await readFile(log, "utf8").catch(() => "");
    throw new Error(`private PostgreSQL did not start: ${(error as Error).message}\n${text}`);
  }
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    pid,
    stop: async () => {
      await tool("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "30", "stop"]);
    },
    start,
    destroy,
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
