import { defineConfig } from "tsup";

// One output file per source module (no bundling), so dist/ mirrors src/ and the
// migrations folder sits three levels above dist/stores/drizzle/ as it does above src/.
// The `tessera` bin is src/cli/bin.ts → dist/cli/bin.js: esbuild keeps its `#!/usr/bin/env node`
// line and tsup marks any output that starts with one executable, so it needs no entry of its own.
export default defineConfig({
  entry: ["src/**/*.ts"],
  format: ["esm"],
  dts: true,
  bundle: false,
  clean: true,
  sourcemap: true,
  target: "node20",
  outDir: "dist",
});
