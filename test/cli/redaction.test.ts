import { describe, expect, it } from "vitest";
import { describeError } from "../../src/cli/failure.js";
import { redactError } from "../../src/redact.js";

// The CLI imports only public entry points, so it keeps its own copy of the core's three
// redaction rules (docs/decisions.md, "The CLI's copy of the redaction rules"). These cases pin
// the two copies to one behaviour: a rule changed in one place and not the other fails here.
const id = "ab".repeat(32);
const messages: [string, string][] = [
  [`Failed query: select "id" from "sessions" where "id" = $1 params: ${id},{"cart":["x"]}`, "params: [redacted]"],
  [`duplicate key value violates unique constraint "sessions_pkey" (id)=(${id})`, "(id)=([redacted])"],
  [`no session ${id.toUpperCase()} in the cache`, "no session [id] in the cache"],
  ["insert or update violates check constraint: Key (user_id, tenant)=(u_123, acme) is not present", "=([redacted])"],
];

describe("the CLI's error line redacts what the core's SessionStoreError cause redacts", () => {
  for (const [message, expected] of messages) {
    it(`${message.slice(0, 48)}…`, () => {
      const core = redactError(new Error(message)).message;
      expect(core).toContain(expected);
      expect(describeError(new Error(message))).toBe(core);
    });
  }

  it("neither copy keeps a session id, query parameters or a constraint's values", () => {
    for (const [message] of messages) {
      const line = describeError(new Error(message));
      expect(line.toLowerCase()).not.toContain(id);
      expect(line).not.toContain("cart");
      expect(line).not.toContain("u_123");
    }
  });
});
