import { parseSetCookie } from "cookie";
import { expect } from "vitest";
import { defineSession, isTesseraError, type Session, type SessionEvent } from "../../src/index.js";
import { testClock } from "../helpers/clock.js";
import { type ExpiryArg, expectedWrite, type ModelSchema, modelSchema, type Op, type Program } from "./arbitraries.js";
import type { Backend } from "./backends.js";
import { Model, type Rec, type RequestModel } from "./model.js";

interface OpenRequest {
  session: Session<ModelSchema>;
  m: RequestModel;
  /** A rotation this request made must reach the browser as a new cookie at commit. */
  rotated: boolean;
}

type Settled = { ok: true; value: string[] } | { ok: false; error: unknown };

const codeOf = (error: unknown) =>
  isTesseraError(error) ? error.code : `${(error as Error)?.name}: ${(error as Error)?.message}`;
const show = (value: unknown) =>
  JSON.stringify(value, (_, v) => (v instanceof Set ? { Set: [...v] } : typeof v === "bigint" ? `${v}n` : v));

/**
 * Runs one generated program against a real store and the model side by side, failing (with a
 * trace of every step and its real outcome) at the first difference. Invariants checked:
 * - reads equal the model (every load's `all()` and `isNew`, every get/pop/setdefault/consumeFlash), so a
 *   lost write of another key or a resurrected session shows as a read that differs;
 * - a save after destroy/revoke/rotate elsewhere throws SessionInterruptedError and writes nothing;
 * - a request reached through a grace shadow gets no token and cannot rotate/destroy/setExpiry (B4);
 * - refused input (schema, lone surrogates: B3, durations past `Date`: B7) throws SessionValidationError
 *   and changes nothing; a new session expired on purpose writes no record (B14);
 * - no raw token at rest, and no `corrupt`/`invalid` event for data the core wrote itself.
 */
export async function runProgram(backend: Backend, program: Program): Promise<void> {
  await backend.reset();
  const clock = testClock();
  const events: SessionEvent[] = [];
  const sessions = defineSession({
    schema: modelSchema,
    store: backend.store,
    ...(backend.cache === undefined ? {} : { cache: backend.cache }),
    now: clock.now,
    rotationGrace: program.grace ? 60 : 0,
    onEvent: (event) => events.push(event),
  });
  const name = sessions.cookieName;
  const model = new Model(backend.clientSide, program.grace);
  /** Every cookie value issued, and the record the model says it names. */
  const tokens = new Map<string, Rec>();
  /** The browser's cookie, and every value it held (an attacker may have kept any of them). */
  let jar: string | undefined;
  const held: string[] = [];
  const open: (OpenRequest | undefined)[] = [];
  const trace: string[] = [];
  const fail = (message: string): never => {
    throw new Error(
      `${message}\n--- trace (store ${backend.name}, rotationGrace ${program.grace ? "60s" : "off"}) ---\n${trace.join("\n")}`,
    );
  };
  const same = (actual: unknown, expected: unknown, what: string) => {
    try {
      expect(actual).toEqual(expected);
    } catch {
      fail(`${what}: got ${show(actual)}, the model says ${show(expected)}`);
    }
  };
  const expectedData = (m: RequestModel) => Object.fromEntries([...m.view].map(([key, entry]) => [key, entry.value]));

  async function load(r: number, stale: boolean): Promise<OpenRequest> {
    const earlier = held.filter((value) => value !== jar);
    const cookie = stale ? earlier.at(-1) : jar;
    const session = await sessions.load(cookie === undefined ? undefined : `${name}=${cookie}`);
    const m = model.load(cookie === undefined ? undefined : tokens.get(cookie), stale ? "other" : "browser");
    const request = { session, m, rotated: false };
    open[r] = request;
    trace.push(`r${r} load${stale ? " (an older cookie)" : ""} → ${m.base === null ? "new session" : `record #${m.base.n}`}`);
    same(session.isNew, m.base === null, `r${r} load: isNew`);
    same({ ...session.all() }, expectedData(m), `r${r} load: all()`);
    return request;
  }

  /** Runs `act`, which must throw a Tessera error with `code`, or succeed when `code` is null. */
  async function outcome(label: string, code: string | null, act: () => unknown): Promise<unknown> {
    let result: unknown;
    try {
      result = await act();
    } catch (error) {
      if (code !== null && isTesseraError(error) && error.code === code) {
        trace.push(`${label} → ${code}`);
        return undefined;
      }
      trace.push(`${label} → threw ${codeOf(error)}`);
      fail(`${label}: threw ${codeOf(error)}, the model expects ${code ?? "success"}`);
    }
    trace.push(`${label} → ${show(result)}`);
    if (code !== null) fail(`${label}: succeeded, the model expects ${code}`);
    return result;
  }

  async function op(r: number, o: Op): Promise<void> {
    const request = open[r] ?? (await load(r, false));
    const { session, m } = request;
    const label = `r${r} ${o.op}${"key" in o ? ` ${o.key}` : ""}${"value" in o ? ` ${show(o.value)}` : ""}${"arg" in o ? ` ${o.arg}` : ""}`;
    switch (o.op) {
      case "get":
        return same(await outcome(label, null, () => session.get(o.key)), m.view.get(o.key)?.value, label);
      case "all":
        return same({ ...((await outcome(label, null, () => session.all())) as object) }, expectedData(m), label);
      case "set":
      case "flash": {
        const write = expectedWrite(o.key, o.value);
        await outcome(label, write.ok ? null : "SESSION_VALIDATION", () =>
          o.op === "set" ? session.set(o.key, o.value as never) : session.flash(o.key, o.value as never),
        );
        if (write.ok) model.write(m, o.key, write.value, o.op === "flash");
        return;
      }
      case "setdefault": {
        const present = m.view.get(o.key);
        const write = present === undefined ? expectedWrite(o.key, o.value) : ({ ok: true, value: present.value } as const);
        const got = await outcome(label, write.ok ? null : "SESSION_VALIDATION", () =>
          session.setdefault(o.key, o.value as never),
        );
        if (!write.ok) return;
        if (present === undefined) model.write(m, o.key, write.value, false);
        return same(got, write.value, label);
      }
      case "pop": {
        const expected = m.view.get(o.key)?.value;
        model.remove(m, o.key);
        return same(await outcome(label, null, () => session.pop(o.key)), expected, label);
      }
      case "delete":
        return same(await outcome(label, null, () => session.delete(o.key)), model.remove(m, o.key), label);
      case "consumeFlash": {
        const entry = m.view.get(o.key);
        const expected = entry?.flash ? entry.value : undefined;
        if (entry?.flash) model.remove(m, o.key);
        return same(await outcome(label, null, () => session.consumeFlash(o.key)), expected, label);
      }
      case "clear":
        model.clear(m);
        await outcome(label, null, () => session.clear());
        return;
      case "setExpiry": {
        const expected = model.setExpiry(m, o.arg);
        const code = expected === "ok" ? null : expected === "invalid" ? "SESSION_VALIDATION" : "SESSION_INTERRUPTED";
        await outcome(label, code, () => session.setExpiry(expiryValue(o.arg, clock.now())));
        return;
      }
      case "rotate": {
        const expected = model.rotate(m);
        await outcome(label, expected.outcome === "ok" ? null : "SESSION_INTERRUPTED", () => session.rotate());
        if (expected.rotated) request.rotated = true;
        return;
      }
      case "destroy": {
        const expected = model.destroy(m);
        await outcome(label, expected === "ok" ? null : "SESSION_INTERRUPTED", () => session.destroy());
        if (expected === "ok") request.rotated = false;
        return;
      }
    }
  }

  /** The model's side of a commit (and the record count before it, for B14), then the real one, then the checks. */
  function prepare(r: number) {
    const request = open[r] as OpenRequest;
    open[r] = undefined;
    return { r, request, expected: model.commit(request.m) };
  }

  async function verify(plan: ReturnType<typeof prepare>, result: Settled, countBefore: number | undefined): Promise<void> {
    const { r, request, expected } = plan;
    const { m } = request;
    const label = `r${r} commit`;
    if (!result.ok) {
      trace.push(`${label} → threw ${codeOf(result.error)}`);
      if (expected.outcome === "interrupted" && isTesseraError(result.error) && result.error.code === "SESSION_INTERRUPTED")
        return;
      fail(
        `${label}: threw ${codeOf(result.error)}, the model expects ${expected.outcome === "ok" ? "success" : "SESSION_INTERRUPTED"}`,
      );
    }
    const setCookies = result.ok ? result.value : [];
    trace.push(`${label} → ${setCookies.length === 0 ? "no cookie" : setCookies.map((c) => c.split(";")[0]).join(", ")}`);
    if (expected.outcome === "interrupted") {
      fail(
        `${label}: succeeded, but the session was destroyed, revoked or rotated elsewhere: the save must throw SessionInterruptedError`,
      );
    }
    let issued = false;
    for (const setCookie of setCookies) {
      const { name: cookieName, value = "", maxAge } = parseSetCookie(setCookie, { decode: (v) => v });
      if (cookieName !== name) fail(`${label}: a Set-Cookie for another name (${cookieName})`);
      if (value !== "" && maxAge !== 0) {
        issued = true;
        if (m.viaGrace) fail(`${label}: B4: a request reached through a grace shadow was sent a cookie`);
        const target = backend.clientSide ? (expected.created ?? m.base) : m.base;
        if (target === null) fail(`${label}: a cookie was issued for a request that has no session`);
        // A token minted by rotate() whose session was revoked before this commit (which had nothing
        // to save) names a dead record: harmless, as long as it never loads it (checked at each load).
        if (!(target as Rec).alive && expected.wrote) fail(`${label}: a cookie was issued for a session the model says is gone`);
        const known = tokens.get(value);
        if (!backend.clientSide && known !== undefined && known !== target)
          fail(`${label}: a token already naming another record`);
        tokens.set(value, target as Rec);
        if (m.client === "browser") {
          jar = value;
          held.push(value);
        }
      } else if (m.client === "browser") jar = undefined;
    }
    const mustIssue = (expected.created?.alive ?? false) || (request.rotated && (m.base?.alive ?? false));
    if (mustIssue && !issued) fail(`${label}: the session was ${request.rotated ? "rotated" : "created"} but no cookie was sent`);
    if (countBefore !== undefined && !expected.wrote) {
      const after = await backend.count();
      if (after !== countBefore)
        fail(`${label}: B14: the model says nothing is written, but the store went from ${countBefore} to ${after} records`);
    }
  }

  const settle = async (commit: Promise<string[]>): Promise<Settled> => {
    try {
      return { ok: true, value: await commit };
    } catch (error) {
      return { ok: false, error };
    }
  };

  async function commit(r: number): Promise<void> {
    const request = open[r];
    if (request === undefined) return;
    const countBefore = !backend.clientSide && request.m.base === null ? await backend.count() : undefined;
    const plan = prepare(r);
    await verify(plan, await settle(request.session.commit()), countBefore);
  }

  /** Two commits at once when their outcome does not depend on the order (patches of different keys), else one after the other. */
  async function commitBoth(a: number, b: number): Promise<void> {
    const first = open[a];
    const second = open[b];
    if (a === b || first === undefined || second === undefined || backend.clientSide || !independent(first.m, second.m)) {
      await commit(a);
      await commit(b);
      return;
    }
    trace.push(`r${a} and r${b} commit at once`);
    const plans = [prepare(a), prepare(b)];
    const results = await Promise.all([settle(first.session.commit()), settle(second.session.commit())]);
    await verify(plans[0] as ReturnType<typeof prepare>, results[0] as Settled, undefined);
    await verify(plans[1] as ReturnType<typeof prepare>, results[1] as Settled, undefined);
  }

  for (const step of program.steps) {
    if (step.t === "load") {
      if (open[step.r] === undefined) await load(step.r, step.stale);
    } else if (step.t === "op") await op(step.r, step.op);
    else if (step.t === "commit") await commit(step.r);
    else if (step.t === "commit2") await commitBoth(step.a, step.b);
    else if (!backend.clientSide) {
      const expected = model.revoke();
      const count = await sessions.revoke({ where: { userId: "u1" } });
      trace.push(`revoke userId=u1 → ${count}`);
      if (count !== expected) fail(`revoke: deleted ${count} sessions, the model says ${expected}`);
    }
  }
  for (let r = 0; r < open.length; r++) await commit(r);
  await load(0, false);
  await commit(0);

  if (!backend.clientSide) {
    const dump = await backend.dump();
    for (const token of tokens.keys()) if (dump.includes(token)) fail("a raw token is stored at rest");
  }
  const unexpected = events.filter((event) => event.type === "corrupt" || event.type === "invalid");
  if (unexpected.length > 0) fail(`the core could not read what it wrote: events ${show(unexpected)}`);
}

/** Two requests' saves commute: patches (no clear, no expiry change) of disjoint keys. */
function independent(a: RequestModel, b: RequestModel): boolean {
  const keys = (m: RequestModel) => new Set([...m.dirty, ...m.deleted]);
  const ka = keys(a);
  const kb = keys(b);
  if (a.base === null || b.base === null || a.replaceAll || b.replaceAll) return false;
  if (ka.has("$expiry") || kb.has("$expiry")) return false;
  return [...ka].every((key) => !kb.has(key));
}

function expiryValue(arg: ExpiryArg, nowMs: number): Date | number | { hours: number } | null {
  switch (arg) {
    case "null":
      return null;
    case "browser":
      return 0;
    case "idle":
      return { hours: 1 };
    case "future":
      return new Date(nowMs + 86_400_000);
    case "past":
      return new Date(nowMs - 1000);
    case "huge":
      return 1e14; // seconds: past the range of Date (B7)
  }
}
