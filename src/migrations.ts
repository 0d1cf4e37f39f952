import type * as z from "zod";
import { SessionConfigError, SessionValidationError, type ValidationIssue } from "./errors.js";

/** One typed step: receives the data parsed by the schema of the version it upgrades, returns the next version's input. */
export type MigrationStep<From extends z.ZodObject, To extends z.ZodObject> = (data: z.output<From>) => z.input<To>;

/**
 * A typed migration history, built with `migrationsFrom(v1).to(v2).via(step).to(v3).via(step)`:
 * the schema of every version, oldest first, and one step between each two. Its last schema is
 * the session's `schema`, and its last version the session's `version`.
 */
export interface MigrationChain<S extends z.ZodObject> {
  /** The schema of the chain's latest version. */
  readonly schema: S;
  /** The chain's latest version. */
  readonly version: number;
  /** Names the next version's schema; `.via(step)` then gives the step that upgrades to it. */
  to<N extends z.ZodObject>(next: N): MigrationTarget<S, N>;
}

/**
 * The next version of a chain, waiting for its step. (Two calls, not `to(next, step)`: with
 * the schema and the step in one generic call, TypeScript widens literals in the step's result,
 * so `theme: "dark"` would not fit an enum.)
 */
export interface MigrationTarget<S extends z.ZodObject, N extends z.ZodObject> {
  /** The step from `S`'s version to `N`'s: receives data parsed by `S`, returns `N`'s input. */
  via(step: MigrationStep<S, N>): MigrationChain<N>;
}

/** What a step of the untyped form receives and returns (plain decoded values), as `Migration` in `schema.ts`. */
type UntypedStep = (data: Record<string, unknown>) => Record<string, unknown>;

interface Link {
  schema: z.ZodObject;
  /** Upgrades from the previous link's version to this one; absent on the first link. */
  step?: (data: unknown) => unknown;
}

/** The links of every chain `migrationsFrom` built; chains are plain objects with no internals on show. */
const links = new WeakMap<object, readonly Link[]>();

/**
 * Starts a typed migration history at the schema of its oldest version (`version`, default 1).
 * Data stored under an older version still reaches the first step's parse unchanged.
 * @example
 * migrations: migrationsFrom(v1)
 *   .to(v2).via(({ name, ...rest }) => ({ ...rest, displayName: name }))
 *   .to(v3).via(({ age, ...rest }) => ({ ...rest, birthYear: 2026 - age })),
 */
export function migrationsFrom<S extends z.ZodObject>(schema: S, options: { version?: number } = {}): MigrationChain<S> {
  const version = options.version ?? 1;
  if (!Number.isInteger(version) || version < 1) throw new SessionConfigError("migrationsFrom: version must be an integer ≥ 1");
  assertObjectSchema(schema, `migrationsFrom: the schema of version ${version}`);
  return chain<S>([{ schema }], version);
}

function chain<S extends z.ZodObject>(list: readonly Link[], version: number): MigrationChain<S> {
  const last = list[list.length - 1] as Link;
  const result: MigrationChain<S> = {
    schema: last.schema as S,
    version,
    to<N extends z.ZodObject>(next: N): MigrationTarget<S, N> {
      assertObjectSchema(next, `migrations: the schema of version ${version + 1}`);
      return {
        via(step: MigrationStep<S, N>): MigrationChain<N> {
          if (typeof step !== "function") {
            throw new SessionConfigError(`migrations: the step to version ${version + 1} must be a function`);
          }
          return chain<N>([...list, { schema: next, step: step as (data: unknown) => unknown }], version + 1);
        },
      };
    },
  };
  links.set(result, list);
  return result;
}

/**
 * The `version` and untyped steps `defineSession` runs: a chain's, checked against the
 * session's schema and any `version` given beside it, or the untyped form's as they are.
 */
export function resolveMigrations(
  schema: z.ZodObject,
  version: number | undefined,
  migrations: Readonly<Record<number, UntypedStep>> | MigrationChain<z.ZodObject> | undefined,
): { version: number; migrations: Readonly<Record<number, UntypedStep>> } {
  const list = typeof migrations === "object" && migrations !== null ? links.get(migrations) : undefined;
  if (list === undefined) {
    return { version: version ?? 1, migrations: (migrations ?? {}) as Readonly<Record<number, UntypedStep>> };
  }
  const chained = migrations as MigrationChain<z.ZodObject>;
  if (chained.schema !== schema) {
    throw new SessionConfigError(
      "migrations: the last schema of migrationsFrom(...).to(...) must be the session's schema itself",
    );
  }
  if (version !== undefined && version !== chained.version) {
    throw new SessionConfigError(`version is ${version} but the migration chain ends at version ${chained.version}`);
  }
  const first = chained.version - list.length + 1;
  const steps: Record<number, UntypedStep> = {};
  for (let i = 1; i < list.length; i++) {
    const from = list[i - 1] as Link;
    const to = list[i] as Link;
    const target = first + i;
    const isLast = i === list.length - 1;
    steps[target] = (data) => {
      const parsed = from.schema.safeParse(data);
      if (!parsed.success)
        throw failure(`data of version ${target - 1} does not match that version's schema`, parsed.error.issues);
      const result = (to.step as (data: unknown) => unknown)(parsed.data);
      // Each step's result is checked by the next step's parse; the last one's here, whole, so that a
      // wrong shape fails the migration (not only the keys that are wrong). Its fields are parsed once
      // more, by key, when the load validates the upgraded data.
      if (isLast) {
        const checked = to.schema.safeParse(result);
        if (!checked.success)
          throw failure(`the step to version ${target} returned data that does not match its schema`, checked.error.issues);
      }
      return result as Record<string, unknown>;
    };
  }
  return { version: chained.version, migrations: steps };
}

function failure(what: string, issues: readonly z.core.$ZodIssue[]): SessionValidationError {
  const mapped: ValidationIssue[] = issues.map((issue) => ({
    code: issue.code,
    path: issue.path,
    message: `${what}: ${issue.message}`,
  }));
  return new SessionValidationError("$data", mapped);
}

function assertObjectSchema(schema: unknown, what: string): void {
  const candidate = schema as { shape?: unknown; safeParse?: unknown } | null;
  if (
    typeof candidate !== "object" ||
    candidate === null ||
    typeof candidate.shape !== "object" ||
    typeof candidate.safeParse !== "function"
  ) {
    throw new SessionConfigError(`${what} must be a Zod object schema (z.object({...}))`);
  }
}
