import fc from "fast-check";
import { afterAll, beforeAll, describe, it } from "vitest";
import { programArbitrary } from "./arbitraries.js";
import { type Backend, backends } from "./backends.js";
import { runProgram } from "./model-run.js";
import { check, modelRuns, seed } from "./replay.js";

/**
 * Issue 11 C, model-based: random programs of up to three concurrent requests on one session
 * (interleaved loads, operations and commits, some commits truly concurrent), a stale cookie's
 * holder and `revoke` from outside, run on every store and checked step by step against the
 * model in model.ts. Seeded (TESSERA_SEED), bounded (TESSERA_MODEL_RUNS per store).
 */
for (const spec of backends) {
  describe.skipIf(spec.skip)(`model: ${spec.name}`, () => {
    let backend: Backend | undefined;
    beforeAll(async () => {
      backend = await spec.open();
    }, 60_000);
    afterAll(async () => {
      await backend?.close();
    });

    it(`random request sequences read what the model holds: no lost write, nothing resurrected, no raw token at rest (seed ${seed})`, async () => {
      const opened = backend as Backend;
      const programs = programArbitrary({ revoke: !opened.clientSide, maxSteps: 40 });
      await check(
        `model run on ${spec.name}`,
        fc.asyncProperty(programs, (program) => runProgram(opened, program)),
        modelRuns,
      );
    }, 170_000);
  });
}
