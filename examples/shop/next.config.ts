import path from "node:path";
import { fileURLToPath } from "node:url";
import type { NextConfig } from "next";

// The repository root: Tessera's TypeScript sources (../../src) are imported by relative path
// and compiled by Next like the app's own files, so the root must be inside Turbopack's root.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const config: NextConfig = {
  turbopack: { root },
  outputFileTracingRoot: root,
  // Database and Redis drivers stay plain Node modules: PGlite loads its WebAssembly from
  // its own package folder, which a bundled copy could not find.
  serverExternalPackages: ["@electric-sql/pglite", "drizzle-orm", "postgres", "ioredis"],
  // The demo's type check is `npm run typecheck:demo`; lint is the repository's Biome.
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  // Tessera's sources import `./x.js` (NodeNext style): resolve those to the `.ts` files.
  webpack: (webpackConfig: { resolve: { extensionAlias?: object } }) => {
    webpackConfig.resolve.extensionAlias = { ...webpackConfig.resolve.extensionAlias, ".js": [".ts", ".tsx", ".js"] };
    return webpackConfig;
  },
  reactStrictMode: true,
};

export default config;
