import { isTesseraError, type Where } from "../index.js";
import { usage } from "./failure.js";

/**
 * `--where field=value` (a string) and `--where field:=json` (a JSON number or boolean), ANDed.
 * Only those two JSON kinds: a store compares a field with a scalar, and `"…"` would be the
 * plain form written twice.
 */
export function parseWhere(clauses: readonly string[] | undefined): Where {
  if (clauses === undefined || clauses.length === 0) throw usage("--where <field>=<value> is required");
  const where: Where = {};
  for (const clause of clauses) {
    const eq = clause.indexOf("=");
    if (eq === -1) throw usage(`malformed --where "${clause}": expected <field>=<value> or <field>:=<json>`);
    const typed = eq > 0 && clause[eq - 1] === ":";
    const field = clause.slice(0, typed ? eq - 1 : eq);
    const raw = clause.slice(eq + 1);
    if (field === "") throw usage(`malformed --where "${clause}": no field name before "="`);
    if (Object.hasOwn(where, field)) throw usage(`--where names "${field}" twice`);
    where[field] = typed ? parseScalar(field, raw) : raw;
  }
  return where;
}

function parseScalar(field: string, raw: string): number | boolean {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw usage(`--where ${field}:=${raw}: not JSON (use ${field}=${raw} for a string)`);
  }
  if (typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value))) return value;
  throw usage(`--where ${field}:= takes a JSON number or boolean, not ${raw}`);
}

/**
 * Runs an operator call by `where`. A field not in the app's schema (with `--config`), or one
 * the store cannot look up (`redisStore` answers only its `indexes`), is the operator's
 * mistake, exit 2: the operator and the store both say so with a `SessionUsageError`, the
 * error of misuse at call time. Anything else, `CONFIG` included (a store that cannot do what
 * was asked), stays a failure, exit 1.
 */
export async function lookUp<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isTesseraError(error) && error.code === "SESSION_USAGE") throw usage(error.message);
    throw error;
  }
}
