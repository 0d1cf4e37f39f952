import { sessionTag } from "../../token.js";
import { CliFailure } from "../failure.js";
import { counted } from "../format.js";
import { type Io, printJson } from "../io.js";
import { type GlobalOptions, openStore } from "../open-store.js";
import { lookUp, parseWhere } from "../where.js";

export interface RevokeCommandOptions extends GlobalOptions {
  where?: string[];
  json?: boolean;
}

/**
 * `tessera revoke --where userId=u_123`: `deleteWhere`, which also drops the cached copies when
 * a cache is in front. Prints tags (as `onEvent` does), never ids: an id is the store key.
 */
export async function revokeCommand(options: RevokeCommandOptions, io: Io): Promise<void> {
  const where = parseWhere(options.where);
  const opened = await openStore(options, { withRedis: true });
  try {
    const ids = await lookUp(() => opened.store.deleteWhere(where));
    if (options.json) printJson(io, { revoked: ids.length, tags: ids.map(sessionTag) });
    else io.out(`revoked ${counted(ids.length, "session")}`);
    // Reported after the result: the rows are gone either way, and the count is still true.
    const cacheFailure = opened.cacheFailure();
    if (cacheFailure !== null) throw new CliFailure(cacheFailure, 1);
  } finally {
    await opened.close();
  }
}
