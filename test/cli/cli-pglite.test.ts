import { pgliteDatabase } from "./cli-databases.js";
import { describeCli } from "./cli-suite.js";

// The embedded default: always runs. Fewer rows than on the server, and the paths through PGlite
// only (the output variants run on the server), for the run's time.
describeCli("PGlite (a data directory)", pgliteDatabase, { purgeCount: 20_000, variants: false });
