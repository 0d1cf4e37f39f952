import fc from "fast-check";

/**
 * Seeds and run counts of the reliability suite, from the environment, so a failure found in CI
 * replays on a laptop: `TESSERA_SEED=<seed> TESSERA_PATH=<path> npx vitest run test/reliability`.
 * Without TESSERA_SEED every run draws a new seed (and prints it on failure).
 */
const envNumber = (name: string): number | undefined => {
  const text = process.env[name];
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, got ${JSON.stringify(text)}`);
  return value;
};

/** The seed of this run: TESSERA_SEED, else a random one (fast-check seeds are 32-bit integers). */
export const seed = envNumber("TESSERA_SEED") ?? Math.floor(Math.random() * 0x7fffffff);
const path = process.env.TESSERA_PATH || undefined;

/** Model runs per store: TESSERA_MODEL_RUNS, default sized so the suite stays well under 3 minutes on 2 cores. */
export const modelRuns = envNumber("TESSERA_MODEL_RUNS") ?? 40;
/** Fuzz cases per store and per adapter: TESSERA_FUZZ_RUNS. */
export const fuzzRuns = envNumber("TESSERA_FUZZ_RUNS") ?? 60;

/**
 * `fc.assert` with the run's seed (and TESSERA_PATH to replay one shrunk case). A failure is
 * rethrown with the seed, the path and the replay command in its message, above fast-check's own
 * report (the shrunk counterexample and the error it raised).
 */
export async function check<T>(label: string, property: fc.IAsyncPropertyWithHooks<T>, numRuns: number): Promise<void> {
  try {
    await fc.assert(property, { seed, numRuns, ...(path === undefined ? {} : { path }), endOnFailure: path !== undefined });
  } catch (error) {
    const report = error instanceof Error ? error.message : String(error);
    const failedPath = /path: "([^"]*)"/.exec(report)?.[1];
    const replay = `TESSERA_SEED=${seed}${failedPath ? ` TESSERA_PATH=${failedPath}` : ""}`;
    throw new Error(
      `${label} failed (seed ${seed}${failedPath ? `, path ${failedPath}` : ""}); replay: ${replay} npx vitest run test/reliability\n\n${report}`,
      { cause: error },
    );
  }
}
