import { defineConfig } from "vitest/config";

// The real-Next tests (test/adapters/next-app.spec.ts, and test/packed/next-doc-example.spec.ts
// for docs/adapters.md's Next example) need the fixture app served by
// `next start`: .ci/next-fixture.mjs builds it and runs them with this config (NEXT_APP_URL).
// `npm test` does not collect them (its files end in .test.ts).
export default defineConfig({
  test: {
    include: ["test/adapters/next-app.spec.ts", "test/packed/next-doc-example.spec.ts"],
    testTimeout: 30_000,
  },
});
