import { cookieStore } from "../lib.js";
import type { Contender } from "../workload.js";
import { define, tesseraOps } from "./tessera-common.js";

/** Its table label (the `--check` bars find it by this). */
export const NAME = "Tessera cookieStore";

/** Tessera's `cookieStore` (signed, deflated; the default mode), no server. */
export async function create(): Promise<Contender> {
  const ops = tesseraOps(define({ store: cookieStore({ secrets: "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz" }) }));
  return {
    name: NAME,
    backend: "cookie",
    ...ops,
    async close() {},
  };
}
