import fc from "fast-check";
import * as z from "zod";

/** The schema of the model runs: every kind of value the codec handles (strings, enums, ints, arrays of objects, Set, Date). */
export const modelSchema = z.object({
  userId: z.string().optional(),
  theme: z.enum(["light", "dark"]).optional(),
  visits: z.number().int().optional(),
  notice: z.string().optional(),
  cart: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })).optional(),
  tags: z.set(z.string()).optional(),
  seenAt: z.date().optional(),
});
export type ModelSchema = typeof modelSchema;
export type ModelKey = keyof z.infer<ModelSchema>;
export const modelKeys = Object.keys(modelSchema.shape) as ModelKey[];

/**
 * Strings a JSON request body can carry that some store cannot hold (B3: lone UTF-16
 * surrogates, NUL) beside ordinary and awkward ones (quotes, backslashes, U+2028, emoji).
 */
export const hostileString = fc
  .array(
    fc.oneof(
      fc.constantFrom("\ud800", "\udc00", "a\udc00b", "\u0000", "a", "é", "😀", "\u2028", '"', "\\", "</script>", "\\u0000"),
      fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)),
    ),
    { maxLength: 5 },
  )
  .map((parts) => parts.join(""));

const text = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
  { weight: 2, arbitrary: hostileString },
);

/** Values for each key: mostly valid, some failing the schema (an unknown theme, a fraction, qty -1), some unstorable (B3). */
const valuesFor: { [K in ModelKey]: fc.Arbitrary<unknown> } = {
  userId: fc.oneof({ weight: 4, arbitrary: fc.constantFrom("u1", "u2") }, { weight: 1, arbitrary: text }),
  theme: fc.constantFrom("light", "dark", "purple"),
  visits: fc.oneof({ weight: 5, arbitrary: fc.integer() }, { weight: 1, arbitrary: fc.constant(1.5) }),
  notice: text,
  cart: fc.array(fc.record({ sku: text, qty: fc.integer({ min: -1, max: 5 }) }), { maxLength: 3 }),
  tags: fc.array(text, { maxLength: 3 }).map((members) => new Set(members)),
  seenAt: fc.date({ min: new Date(0), max: new Date(Date.UTC(2100, 0, 1)), noInvalidDate: true }),
};

/** A key and a value for it. */
export const keyValue = fc.oneof(...modelKeys.map((key) => fc.tuple(fc.constant(key), valuesFor[key])));
const key = fc.constantFrom(...modelKeys);

/** What `setExpiry` is given: null, 0, an idle duration, a future or past instant, or one past `Date`'s range (B7). */
export type ExpiryArg = "null" | "browser" | "idle" | "future" | "past" | "huge";

export type Op =
  | { op: "get" | "pop" | "delete" | "consumeFlash"; key: ModelKey }
  | { op: "set" | "setdefault" | "flash"; key: ModelKey; value: unknown }
  | { op: "setExpiry"; arg: ExpiryArg }
  | { op: "clear" | "rotate" | "destroy" | "all" };

export const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom("get", "pop", "delete", "consumeFlash"), key }) },
  { weight: 8, arbitrary: keyValue.map(([k, value]) => ({ op: "set" as const, key: k, value })) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom("setdefault" as const, "flash" as const), keyValue)
      .map(([op, [k, value]]) => ({ op, key: k, value })),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("setExpiry" as const),
      arg: fc.constantFrom<ExpiryArg>("null", "browser", "idle", "future", "past", "huge"),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constantFrom("clear" as const, "rotate" as const, "destroy" as const, "all" as const) }),
  },
);

/** Which of the concurrent requests (0–2) a step acts on. */
const request = fc.integer({ min: 0, max: 2 });

export type Step =
  /** Request `r` loads with the browser's cookie, or (stale) with one the browser held before (an attacker's copy). */
  | { t: "load"; r: number; stale: boolean }
  /** One operation by request `r` (loading it first when it is not open). */
  | { t: "op"; r: number; op: Op }
  /** Request `r` commits (and ends). */
  | { t: "commit"; r: number }
  /** Requests `a` and `b` commit at the same time (truly concurrent when their patches touch different keys). */
  | { t: "commit2"; a: number; b: number }
  /** `sessions.revoke({ where: { userId: "u1" } })` from outside. */
  | { t: "revoke" };

export interface Program {
  /** `rotationGrace` of this run: off, or a window that stays open (the clock does not move). */
  grace: boolean;
  steps: Step[];
}

export function programArbitrary(options: { revoke: boolean; maxSteps: number }): fc.Arbitrary<Program> {
  const step: fc.Arbitrary<Step> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({ t: fc.constant("load" as const), r: request, stale: fc.boolean() }),
    },
    { weight: 12, arbitrary: fc.record({ t: fc.constant("op" as const), r: request, op: opArbitrary }) },
    { weight: 4, arbitrary: fc.record({ t: fc.constant("commit" as const), r: request }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant("commit2" as const), a: request, b: request }) },
    { weight: options.revoke ? 1 : 0, arbitrary: fc.constant({ t: "revoke" as const }) },
  );
  return fc.record({ grace: fc.boolean(), steps: fc.array(step, { minLength: 1, maxLength: options.maxSteps, size: "max" }) });
}

/** The oracle of `set`: the schema accepts the value (Zod, not Tessera) and every string in it is storable (B3). */
export function expectedWrite(key: ModelKey, value: unknown): { ok: true; value: unknown } | { ok: false } {
  const parsed = modelSchema.shape[key].safeParse(value);
  if (!parsed.success || !storable(parsed.data)) return { ok: false };
  return { ok: true, value: parsed.data };
}

/** No lone surrogate and no NUL in any string, object key, array item or Set member. */
export function storable(value: unknown): boolean {
  if (typeof value === "string") return !/\p{Cs}/u.test(value) && !value.includes("\u0000");
  if (value instanceof Set || Array.isArray(value)) return [...value].every(storable);
  if (value instanceof Date) return true;
  if (typeof value === "object" && value !== null) return Object.entries(value).every(([k, v]) => storable(k) && storable(v));
  return true;
}
