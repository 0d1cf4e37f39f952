/** How the process ends: 1 for a failure (connection, SQL, config), 2 for a usage mistake. */
export type ExitCode = 1 | 2;

/**
 * An error the CLI reports itself, as one line, with the exit code it maps to. Not a
 * `TesseraError`: it never leaves the CLI, and its message is already meant for an operator.
 */
export class CliFailure extends Error {
  readonly exitCode: ExitCode;

  constructor(message: string, exitCode: ExitCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CliFailure";
    this.exitCode = exitCode;
  }
}

/** A usage mistake (exit 2): a bad option value, a missing or malformed `--where`. */
export const usage = (message: string) => new CliFailure(message, 2);

/** A failure (exit 1): the work could not be done. */
export const failure = (message: string, cause?: unknown) => new CliFailure(message, 1, { cause });

/**
 * One line for any error: drizzle wraps driver errors in "Failed query: <sql> params: …",
 * so the driver's own message (the cause) is the readable part; an AggregateError (a host
 * that resolved to several addresses) says nothing itself, its first error does. Query
 * parameters, session ids and URL passwords are removed, since operators paste these lines.
 */
export function describeError(error: unknown): string {
  let current = error;
  for (let depth = 0; depth < 4; depth++) {
    if (current instanceof AggregateError && current.message === "" && current.errors.length > 0) current = current.errors[0];
    else if (isDrizzleQueryError(current)) current = current.cause;
    else break;
  }
  const code = (current as { code?: unknown } | null)?.code;
  const message = redactText(current instanceof Error ? current.message : String(current)) || String(code ?? "unknown error");
  const parts = message.split("\n").map((part) => part.trim());
  const line = redactUrls(parts.filter((part) => part !== "").join(" "));
  // The likeliest cause is a database nobody migrated, or the wrong database.
  return isMissingTable(code, line) ? `${line} (run tesserae migrate, or pass --config for your own table)` : line;
}

/** Postgres' undefined_table, MySQL's ER_NO_SUCH_TABLE, SQLite's "no such table" (SQLITE_ERROR, told by its text). */
function isMissingTable(code: unknown, line: string): boolean {
  return code === "42P01" || code === "ER_NO_SUCH_TABLE" || (code === "SQLITE_ERROR" && /\bno such table\b/.test(line));
}

/** drizzle's DrizzleQueryError (its `name` is plain "Error"): the failed SQL, with the driver's error as `cause`. */
function isDrizzleQueryError(error: unknown): error is Error & { cause: unknown } {
  return error instanceof Error && typeof (error as { query?: unknown }).query === "string" && error.cause !== undefined;
}

/** `scheme://user:password@host` → `scheme://user@host`, wherever it appears in a text. */
export function redactUrls(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@\s]*@/gi, "$1@");
}

/** A URL as it may be printed: without its password (nor a `password` query parameter). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === "" && !parsed.searchParams.has("password")) return url;
    parsed.password = "";
    parsed.searchParams.delete("password");
    return parsed.toString();
  } catch {
    return redactUrls(url);
  }
}

/**
 * What a driver's message may quote that an operator must not paste: query parameters (session
 * data), session ids (64 hex digits, the store key) and the values of a constraint violation.
 * The same rules as the core's `redactError` (src/redact.ts); the CLI imports only public entry
 * points and a redaction helper has no place in the library's API, so this is a deliberate
 * copy, held to the core's by test/cli/redaction.test.ts (docs/decisions.md).
 */
function redactText(text: string): string {
  return text
    .replace(/\bparams:[\s\S]*$/, "params: [redacted]")
    .replace(/\b[0-9a-f]{64}\b/gi, "[id]")
    .replace(/\(([^()]*)\)=\(([^()]*)\)/g, "($1)=([redacted])");
}
