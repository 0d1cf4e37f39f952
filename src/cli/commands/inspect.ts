import type { OperatorSession } from "../../index.js";
import type { Io } from "../io.js";
import { type GlobalOptions, openOperator } from "../open-operator.js";
import { lookUp, parseWhere } from "../where.js";

export interface InspectCommandOptions extends GlobalOptions {
  where?: string[];
  /** Most sessions printed. */
  limit: number;
}

/**
 * `tesserae inspect --where …`: `operator.inspect`, the live matching sessions as JSON, newest
 * first, data decoded (with `--config`, by the app's schema) and keys whose own expiry passed
 * left out. Never the id (the token's hash and the row's key) nor anything a browser could
 * replay: a tag stands in.
 */
export async function inspectCommand(options: InspectCommandOptions, io: Io): Promise<void> {
  const where = parseWhere(options.where);
  const opened = await openOperator(options);
  try {
    const sessions = await lookUp(() => opened.operator.inspect({ where, limit: options.limit }));
    // Indented: this listing is read by a person more often than piped.
    io.out(JSON.stringify(sessions.map(view), null, 2));
  } finally {
    await opened.close();
  }
}

function view(session: OperatorSession) {
  return {
    tag: session.tag,
    createdAt: session.createdAt.toISOString(),
    updatedAt: session.updatedAt.toISOString(),
    expiresAt: session.expiresAt.toISOString(),
    schemaVersion: session.schemaVersion,
    data: toJson(session.data),
  };
}

/**
 * superjson's types as plain JSON: Date → ISO string (JSON.stringify does it too), BigInt →
 * string (JSON.stringify throws on it), Map → object when its keys are strings else entries,
 * Set → array, undefined → left out, non-finite numbers → their name.
 */
function toJson(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (value instanceof Set) return [...value].map(toJson);
  if (value instanceof Map) {
    const entries = [...value.entries()];
    return entries.every(([k]) => typeof k === "string")
      ? Object.fromEntries(entries.map(([k, v]) => [k, toJson(v)]))
      : entries.map(([k, v]) => [toJson(k), toJson(v)]);
  }
  if (value instanceof RegExp || value instanceof Error || value instanceof URL) return String(value);
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : toJson(v)));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v);
    return out;
  }
  return value;
}
