import { mkdir, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Runs `step` holding a lock shared by every vitest worker process: a directory, since
 * `mkdir` either creates it or fails, atomically. A lock older than `staleAfterMs` was left by a
 * killed run and is taken over, or it would block every later run.
 */
export async function withDirLock<T>(lock: string, staleAfterMs: number, step: () => Promise<T>): Promise<T> {
  await mkdir(dirname(lock), { recursive: true });
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const age = Date.now() - (await stat(lock).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if (age > staleAfterMs) await rm(lock, { recursive: true, force: true });
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await step();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}
