import fc from "fast-check";
import { it } from "vitest";
import { programArbitrary } from "./arbitraries.js";
import { describeEachBackend } from "./each-backend.js";
import { runProgram } from "./model-run.js";
import { check, modelRuns, seed } from "./replay.js";

/**
 * Issue 11 C, model-based: random programs of up to three concurrent requests on one session
 * (interleaved loads, operations and commits, some commits truly concurrent), a stale cookie's
 * holder and `revoke` from outside, run on every store and checked step by step against the
 * model in model.ts. Seeded (TESSERA_SEED), bounded (TESSERA_MODEL_RUNS per store).
 */
describeEachBackend("model", (backendName, backend) => {
  it(`random request sequences read what the model holds: no lost write, nothing resurrected, no raw token at rest (seed ${seed})`, async () => {
    const opened = backend();
    const programs = programArbitrary({ revoke: !opened.clientSide, maxSteps: 40 });
    await check(
      `model run on ${backendName}`,
      fc.asyncProperty(programs, (program) => runProgram(opened, program)),
      modelRuns,
    );
  }, 170_000);
});
