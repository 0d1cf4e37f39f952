import { describe, expect, it } from "vitest";
import { storeUnavailableResponse } from "../../src/adapter-kit.js";
import {
  isTesseraError,
  SessionConfigError,
  SessionCorruptError,
  SessionInterruptedError,
  SessionStoreError,
  SessionTooLargeError,
  SessionUsageError,
  SessionValidationError,
  sessionErrorAnswer,
  sessionErrorResponse,
} from "../../src/index.js";

describe("the one mapping of session errors to answers (B6), used by every adapter", () => {
  it("B6: store 503, interrupted and corrupt 401, too large 413; the app's own errors are not answered", () => {
    expect(sessionErrorAnswer(new SessionStoreError("down"))).toEqual({ status: 503, message: "Service Unavailable" });
    expect(sessionErrorAnswer(new SessionInterruptedError("gone"))).toEqual({ status: 401, message: "Unauthorized" });
    expect(sessionErrorAnswer(new SessionCorruptError("torn"))).toEqual({ status: 401, message: "Unauthorized" });
    expect(sessionErrorAnswer(new SessionTooLargeError(70_000, 65_536))).toEqual({ status: 413, message: "Payload Too Large" });
    for (const other of [
      new SessionConfigError("bad option"),
      new SessionUsageError("session.set() after the response started"),
      new SessionValidationError("cart", []),
      new Error("boom"),
      "STORE_UNAVAILABLE",
      { code: "STORE_UNAVAILABLE" },
      null,
    ]) {
      expect(sessionErrorAnswer(other)).toBeNull();
      expect(sessionErrorResponse(other)).toBeNull();
    }
  });

  it("13.6: request-time misuse is SessionUsageError (SESSION_USAGE), a TesseraError apart from start-up CONFIG", () => {
    const error = new SessionUsageError("session.set() after the response started");
    expect(isTesseraError(error)).toBe(true);
    expect(error.code).toBe("SESSION_USAGE");
    expect(error.name).toBe("SessionUsageError");
    expect(error).not.toBeInstanceOf(SessionConfigError);
  });

  it("B6: the response is the fixed text, never the error's message or stack, with no-store, Vary: Cookie and no cookie", async () => {
    const error = new SessionStoreError("connect ECONNREFUSED 127.0.0.1:5432 token=abc");
    const response = sessionErrorResponse(error) as Response;
    expect(response.status).toBe(503);
    expect(await response.text()).toBe("Service Unavailable");
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(response.headers.get("Vary")).toBe("Cookie");
    expect(response.headers.get("Content-Type")).toBe("text/plain; charset=utf-8");
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(await storeUnavailableResponse().text()).toBe("Service Unavailable");
  });

  it("an answer is a copy: changing it does not change what the next error gets", () => {
    const answer = sessionErrorAnswer(new SessionStoreError("down"));
    if (answer !== null) answer.message = "changed";
    expect(sessionErrorAnswer(new SessionStoreError("down"))?.message).toBe("Service Unavailable");
  });
});
