import type { NextConfig } from "next";

const config: NextConfig = {
  // PGlite loads its WebAssembly from its own package folder, which a bundled copy could not find.
  serverExternalPackages: ["@electric-sql/pglite"],
  poweredByHeader: false,
};

export default config;
