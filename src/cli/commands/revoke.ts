import { CliFailure } from "../failure.js";
import { counted } from "../format.js";
import { type Io, printJson } from "../io.js";
import { type GlobalOptions, openOperator } from "../open-operator.js";
import { lookUp, parseWhere } from "../where.js";

export interface RevokeCommandOptions extends GlobalOptions {
  where?: string[];
  json?: boolean;
}

/**
 * `tesserae revoke --where userId=u_123`: `operator.revoke`, which checks the fields against the
 * app's schema (with `--config`), drops the cached copies when a cache is in front and fires
 * the `revoked` event. Prints tags (as `onEvent` does), never ids: an id is the store key.
 */
export async function revokeCommand(options: RevokeCommandOptions, io: Io): Promise<void> {
  const where = parseWhere(options.where);
  const opened = await openOperator(options, { withRedis: true });
  try {
    const { count, tags } = await lookUp(() => opened.operator.revoke({ where }));
    if (options.json) printJson(io, { revoked: count, tags });
    else io.out(`revoked ${counted(count, "session")}`);
    // Reported after the result: the rows are gone either way, and the count is still true.
    const cacheFailure = opened.cacheFailure();
    if (cacheFailure !== null) throw new CliFailure(cacheFailure, 1);
  } finally {
    await opened.close();
  }
}
