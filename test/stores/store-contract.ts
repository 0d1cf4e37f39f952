import { afterAll, beforeAll, beforeEach, describe } from "vitest";
import { concurrencyContract } from "./contract/concurrency.js";
import { dataContract } from "./contract/data.js";
import { discardContract } from "./contract/discard.js";
import { evolutionContract } from "./contract/evolution.js";
import { expiryContract } from "./contract/expiry.js";
import { queriesContract } from "./contract/queries.js";
import { securityContract } from "./contract/security.js";
import type { ContractScope, OpenStore, StoreHarness } from "./contract/setup.js";
import { trustContract } from "./contract/trust.js";

export type { OpenStore, StoreHarness } from "./contract/setup.js";

/**
 * The conformance suite every store runs: the same session-level behaviour on every
 * backend (Lucia's adapter-test, drizzle's pg-common). A new store passes this or it is not done.
 */
export function describeStore(name: string, open: OpenStore, options: { skip?: boolean; clientSide?: boolean } = {}): void {
  const scope: ContractScope = { clientSide: options.clientSide ?? false };
  describe.skipIf(options.skip ?? false)(`store contract: ${name}`, () => {
    let h: StoreHarness | undefined;
    const harness = () => {
      if (h === undefined) throw new Error("store harness not open");
      return h;
    };
    beforeAll(async () => {
      h = await open();
    }, 60_000);
    beforeEach(async () => {
      await harness().reset();
    });
    afterAll(async () => {
      await h?.close();
    });

    describe("data", () => dataContract(harness));
    describe("concurrency", () => concurrencyContract(harness, scope));
    describe("expiry", () => expiryContract(harness, scope));
    describe("security", () => securityContract(harness, scope));
    describe("schema evolution", () => evolutionContract(harness, scope));
    describe("queries", () => queriesContract(harness, scope));
    describe("trust (issue 11)", () => trustContract(harness, scope));
    describe("discard and login (issue 12)", () => discardContract(harness, scope));
  });
}
