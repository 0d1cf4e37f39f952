import { sealData, unsealData } from "iron-session";
import { type Contender, makePayload, seedParallel, TTL_SECONDS } from "../workload.js";

const password = "bench-password-0123456789-abcdefghijklmnopqrstuvwxyz";

/** Its table label (the `--check` bars find it by this). */
export const NAME = "iron-session sealData/unsealData";

/** The cookie floor, iron-session 8: `unsealData` (read), then `sealData` of the changed data (modify). */
export async function create(): Promise<Contender> {
  const seals: string[] = [];
  const open = async (i: number) => {
    const data = await unsealData<Record<string, unknown>>(seals[i]!, { password, ttl: TTL_SECONDS });
    if (data.userId === undefined) throw new Error(`session ${i} did not unseal`);
    return data;
  };
  return {
    name: NAME,
    backend: "cookie",
    floor: true,
    async seed(n) {
      await seedParallel(n, 16, async (i) => {
        seals[i] = await sealData(makePayload(i), { password, ttl: TTL_SECONDS });
      });
    },
    async read(i) {
      await open(i);
    },
    async modify(i) {
      const data = await open(i);
      data.lastSeen = new Date();
      seals[i] = await sealData(data, { password, ttl: TTL_SECONDS });
    },
    async close() {},
  };
}
