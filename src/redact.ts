/**
 * Driver errors quote their query and its parameters: the session id (a token hash) and,
 * on writes, session data. A `SessionStoreError` carries a copy of the driver's error chain
 * with those removed, so logging it whole leaks nothing (R11); the SQLSTATE-style `code`
 * stays for diagnosis.
 */
export function redactError(error: unknown, depth = 0): Error {
  if (!(error instanceof Error)) return new RedactedError(redactText(String(error)));
  const copy = new RedactedError(redactText(error.message));
  copy.name = error.name;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" || typeof code === "number") Object.assign(copy, { code });
  if (error.cause !== undefined && depth < 4) copy.cause = redactError(error.cause, depth + 1);
  return copy;
}

/** The CLI keeps a copy of these rules (src/cli/failure.ts); test/cli/redaction.test.ts holds the two together. */
function redactText(text: string): string {
  return text
    .replace(/\bparams:[\s\S]*$/, "params: [redacted]")
    .replace(/\b[0-9a-f]{64}\b/gi, "[id]")
    .replace(/\(([^()]*)\)=\(([^()]*)\)/g, "($1)=([redacted])");
}

/**
 * A driver's error with its query parameters removed: never thrown, only carried as the `cause`
 * of a `SessionStoreError`. Its `name` is the original's.
 */
class RedactedError extends Error {}
