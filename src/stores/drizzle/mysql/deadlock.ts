/**
 * InnoDB resolves a deadlock by rolling back one of the transactions (a single statement is a
 * transaction of its own) with ER_LOCK_DEADLOCK, and MySQL's manual asks applications to
 * re-issue it. The store's statements meet in opposite lock orders: `revoke`'s `SELECT … FOR
 * UPDATE` and `purgeExpired`'s `DELETE … ORDER BY expires_at` lock a secondary index before the
 * row, `patch`/`touch` the row before the index entries they change, and `rotate` inserts into
 * gaps a scan holds. Nothing of the rolled-back attempt remains, so trying it again is safe.
 */
const ER_LOCK_DEADLOCK = 1213;
const ATTEMPTS = 8;

/** Whether `error` (or its cause: drizzle wraps the driver's error) is ER_LOCK_DEADLOCK. */
export function isDeadlock(error: unknown): boolean {
  let current = error;
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    const { errno, code, cause } = current as { errno?: unknown; code?: unknown; cause?: unknown };
    if (errno === ER_LOCK_DEADLOCK || code === "ER_LOCK_DEADLOCK") return true;
    current = cause;
  }
  return false;
}

/** Runs `attempt` (one statement or one whole transaction) again when InnoDB chose it as a deadlock's victim. */
export async function retryDeadlocks<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (tries >= ATTEMPTS || !isDeadlock(error)) throw error;
      // A short random pause, growing with each try, so the same transactions do not meet again at once.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 4 * tries));
    }
  }
}
