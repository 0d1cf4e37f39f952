import type { NextConfig } from "next";

const config: NextConfig = {
  // PGlite loads its WebAssembly and data files from its own package folder. Turbopack's
  // bundled copy finds them, webpack's does not (`next build --webpack`: "The "path" argument
  // must be of type string … Received an instance of URL" on the first query): kept a plain Node
  // module, loaded from node_modules at run time, the app works with either bundler.
  serverExternalPackages: ["@electric-sql/pglite"],
  poweredByHeader: false,
  reactStrictMode: true,
};

export default config;
