import type { NextFunction, Request, RequestHandler, Response } from "express";
import { commitCookies, holdLegacy, isSettled, isStoreUnavailable, lockSession } from "../adapter-kit.js";
import {
  CrossSiteRequestError,
  type CsrfOption,
  crossSiteCheck,
  SESSION_CACHE_CONTROL,
  type Session,
  SessionConfigError,
  type SessionManager,
  type SessionSchema,
  type SessionStoreError,
  sessionErrorResponse,
} from "../index.js";

/** Options of `expressSession`. */
export interface ExpressSessionOptions {
  /**
   * Writes the response to a store outage (`SessionStoreError` from the load or the save), in place
   * of the handler's, which is discarded. No session `Set-Cookie` goes out (R49).
   * @default a `503` with a short text body and `Cache-Control: no-store`
   */
  onStoreError?: (error: SessionStoreError, req: Request, res: Response) => void;
  /**
   * The cross-site request check (`crossSiteCheck`): a state-changing request (not GET, HEAD or
   * OPTIONS) whose `Sec-Fetch-Site` or `Origin` names another site is answered 403 before the
   * session loads. `false` turns it off (an API called only by other servers).
   * @default on, trusting only the request's own `Host`
   */
  csrf?: CsrfOption;
}

/** An Express request whose `req.session` is typed from the manager `M` (no `declare module`). */
export type SessionRequest<M, R extends Request = Request> = R & {
  session: Session<M extends SessionManager<infer S> ? S : never>;
};

/**
 * Express 4 and 5 middleware: `req.session` is the request's session, saved with its cookie,
 * `Cache-Control: private, no-store` (with a cookie) and `Vary: Cookie` (always, R18) set just
 * before the headers go out, whatever sends them (`json`, `redirect`, `write`, `flushHeaders`).
 * The first `writeHead`/`write`/`end` starts `session.commit()`; that call and those after it are
 * held, then replayed in order once it resolves (held writes return `false`; `drain` follows). From
 * then on the session is read-only: a change throws `SessionUsageError` (R20), which Express routes
 * to `next(err)`. A session error in the load or the save is answered by the middleware itself,
 * never by Express's error handler (which shows the stack in development): the core's answer
 * (`sessionErrorResponse`: 503 store down, 401 session revoked or unreadable, 413 too large; no
 * stack, no cookie). Any other error goes to `next(err)`, never to a rejected promise (Express 4
 * would crash on it). A request that ends in an unhandled error commits nothing (docs/adapters.md):
 * a `sessionHandler` that threw, or a status of 500 or more when the response starts. A
 * cross-site state-changing request is answered 403 before the session loads (`csrf`).
 * @example app.use(expressSession(sessions));
 */
export function expressSession<S extends SessionSchema>(
  sessions: SessionManager<S>,
  options: ExpressSessionOptions = {},
): RequestHandler {
  if (typeof sessions?.load !== "function") throw new SessionConfigError("expressSession takes defineSession's manager");
  const { onStoreError } = options;
  if (onStoreError !== undefined && typeof onStoreError !== "function") {
    throw new SessionConfigError("onStoreError must be a function");
  }
  const crossSite = crossSiteCheck(options.csrf);

  /** How to answer a session error (the response is the core's), or null for any other error. */
  const answerTo = (error: unknown): Answer | null => {
    if (onStoreError !== undefined && isStoreUnavailable(error))
      return async (req, res) => onStoreError(error, req, res.vary("Cookie"));
    const response = sessionErrorResponse(error);
    if (response === null) return null;
    return async (_req, res) => {
      res.status(response.status);
      for (const [name, value] of response.headers) if (name !== "vary") res.setHeader(name, value);
      res.vary("Cookie").send(await response.text());
    };
  };

  const run = async (req: Request, res: Response, next: NextFunction) => {
    if ("session" in req) throw new SessionConfigError("req.session is already set (another session middleware?)");
    if (crossSite(req)) return (answerTo(new CrossSiteRequestError()) as Answer)(req, res);
    let failed = false; // a sessionHandler threw or called next(err): whatever answers it, nothing is saved
    answerers.set(req, (error) => {
      failed = true;
      return answerTo(error);
    });
    let session: Session<S>;
    try {
      session = await sessions.load(req.headers.cookie ?? null);
    } catch (error) {
      const answer = answerTo(error);
      if (answer === null) throw error;
      return answer(req, res);
    }
    (req as Request & { session: Session<S> }).session = session;
    const lock = () => lockSession(session, "after the response started: its cookie is already sent");
    const commit = async (status: number) => {
      lock();
      // The client hung up before the response: nobody receives a new token, so a legacy session is not claimed.
      if (res.destroyed || req.socket?.destroyed === true) holdLegacy(session, "abandoned");
      // A 5xx is an error handler's answer (Express's own, or the app's) even when no sessionHandler saw the throw.
      return failed || status >= 500 ? [] : (await commitCookies(session)).map((cookie) => cookie.header);
    };
    // A read that needs no write and no cookie goes out at once, without the hold and replay.
    const settled = () => {
      if (!isSettled(session)) return false;
      lock();
      return true;
    };
    holdUntilCommitted(res, commit, settled, (error) => {
      const answer = answerTo(error);
      if (answer === null || res.headersSent) return next(error);
      for (const name of ["content-type", "content-length", "content-encoding", "content-range", "etag", "location"]) {
        res.removeHeader(name); // they described the discarded response
      }
      return answer(req, res).catch(next); // onStoreError threw
    });
    next();
  };
  return (req, res, next) => {
    run(req, res, next).catch(next);
  };
}

/**
 * A route handler whose `req.session` is typed from `sessions`; fails with `SessionConfigError`
 * when `expressSession` is not mounted before it. A session error it throws before the response
 * started (from `rotate()`, say) gets the same answer as one from the commit (503, 401 or 413).
 * @example app.get("/cart", sessionHandler(sessions, (req, res) => res.json(req.session.get("cart"))));
 */
export function sessionHandler<S extends SessionSchema, R extends Request = Request>(
  _sessions: SessionManager<S>,
  handler: (req: SessionRequest<SessionManager<S>, R>, res: Response, next: NextFunction) => unknown,
): (req: R, res: Response, next: NextFunction) => unknown {
  if (typeof handler !== "function") throw new SessionConfigError("sessionHandler needs a handler function");
  const run = async (req: R, res: Response, next: NextFunction) => {
    if (!("session" in req)) throw new SessionConfigError("req.session is missing: mount expressSession(sessions) first");
    try {
      await handler(req as SessionRequest<SessionManager<S>, R>, res, (error?: unknown) => {
        if (error !== undefined && error !== "route" && error !== "router") answerers.get(req)?.(error); // marks it failed
        next(error);
      });
    } catch (error) {
      // Marks the request failed (nothing is committed). A session call (rotate, destroy) that found
      // the store down or the session gone gets the same answer as from the commit, rather than
      // Express's error handler (a stack in development).
      const answer = answerers.get(req)?.(error) ?? null;
      if (answer === null || res.headersSent) throw error;
      return answer(req, res);
    }
  };
  return (req, res, next) => {
    run(req, res, next).catch(next);
  };
}

type Answer = (req: Request, res: Response) => Promise<void>;

/**
 * Each request's hook for an error its `sessionHandler` threw (set by `expressSession`): marks
 * the request failed and returns the answer to a session error, or null.
 */
const answerers = new WeakMap<object, (error: unknown) => Answer | null>();

type Held = "writeHead" | "write" | "end";

function holdUntilCommitted(
  res: Response,
  commit: (status: number) => Promise<string[]>,
  settled: () => boolean,
  failed: (error: unknown) => unknown,
): void {
  const original: Pick<Response, Held> = { writeHead: res.writeHead, write: res.write, end: res.end };
  const calls: [Held, unknown[]][] = [];
  let released = false;
  // Never unwrapped, only passed through once released: a middleware mounted later (compression) wraps these.
  const release = () => {
    released = true;
  };
  const hold =
    (name: Held) =>
    (...args: unknown[]): unknown => {
      if (released) return Reflect.apply(original[name], res, args);
      // writeHead with a headers object goes through replay, which keeps Vary from being overwritten.
      if (calls.length === 0 && !(name === "writeHead" && args.some((a) => typeof a === "object")) && settled()) {
        released = true;
        res.vary("Cookie");
        return Reflect.apply(original[name], res, args);
      }
      if (calls.push([name, args]) === 1) {
        // To the app the response has started, as it would have without the hold (error handlers check
        // this). Defined once and never deleted: deleting a property would put `res` in V8's slow mode.
        Object.defineProperty(res, "headersSent", {
          configurable: true,
          get: () => !released || Reflect.get(Object.getPrototypeOf(res) as object, "headersSent", res) === true,
        });
        // writeHead(status) has not set statusCode yet: it is held.
        commit(name === "writeHead" ? Number(args[0]) : res.statusCode)
          .then((cookies) => {
            release();
            replay(res, original, calls, cookies);
          })
          .catch((error: unknown) => {
            release();
            return failed(error);
          });
      }
      return name === "write" ? false : res;
    };
  res.writeHead = hold("writeHead") as Response["writeHead"];
  res.write = hold("write") as Response["write"];
  res.end = hold("end") as Response["end"];
}

function replay(res: Response, original: Pick<Response, Held>, calls: [Held, unknown[]][], cookies: string[]): void {
  // writeHead(status, [reason], headers) would overwrite the session's headers: set its own first, as Node does.
  const head = calls[0]?.[0] === "writeHead" ? calls[0][1] : undefined;
  if (head !== undefined) {
    const at = typeof head[1] === "string" ? 2 : 1;
    const headers: unknown = head[at];
    if (Array.isArray(headers)) {
      // A flat [name, value, ...] list may repeat a name (two Set-Cookies): Node keeps every value.
      for (let i = 0; i + 1 < headers.length; i += 2) if (headers[i]) res.removeHeader(String(headers[i]));
      for (let i = 0; i + 1 < headers.length; i += 2) if (headers[i]) res.appendHeader(String(headers[i]), headers[i + 1]);
    } else for (const [name, value] of Object.entries(headers ?? {})) if (name) res.setHeader(name, value as string);
    head.length = at;
  }
  if (cookies.length > 0) res.append("Set-Cookie", cookies).setHeader("Cache-Control", SESSION_CACHE_CONTROL);
  res.vary("Cookie");
  let drained = true;
  for (const [name, args] of calls) drained = Reflect.apply(original[name], res, args) !== false;
  // A writer that saw `false` (a pipe) waits for drain; the socket sends its own if it is the one that is full.
  if (drained && calls.some(([name]) => name === "write") && !calls.some(([name]) => name === "end")) res.emit("drain");
}
