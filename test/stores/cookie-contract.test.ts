import { cookieStore } from "../../src/stores/cookie/index.js";
import { describeStore, type StoreHarness } from "./store-contract.js";

const secret = "a-test-secret-of-at-least-32-characters!";

/** A cookie store keeps nothing server-side: there is nothing to dump, count or reset. */
function cookieHarness(encrypt: boolean): StoreHarness {
  return {
    store: cookieStore({ secrets: [secret], encrypt }),
    dump: async () => "",
    count: async () => 0,
    reset: async () => {},
    close: async () => {},
  };
}

describeStore("signed cookie", async () => cookieHarness(false), { clientSide: true });
describeStore("signed and encrypted cookie", async () => cookieHarness(true), { clientSide: true });
