import { defineConfig } from "vitest/config";

// The real-Next tests (test/adapters/next-app.spec.ts) need the fixture app served by
// `next start`: .ci/next-fixture.mjs builds it and runs them with this config (NEXT_APP_URL).
// `npm test` does not collect them (its files end in .test.ts).
export default defineConfig({
  test: {
    include: ["test/adapters/next-app.spec.ts"],
    testTimeout: 30_000,
  },
});
