import { defineConfig } from "tsup";

// One output file per source module (no bundling), so dist/ mirrors src/ and the
// migrations folder sits three levels above dist/stores/drizzle/ as it does above src/.
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
