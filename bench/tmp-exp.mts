import { memoryStore } from "../src/stores/memory/index.js";
import { define, tesseraOps } from "./contenders/tessera-common.js";
const store = memoryStore();
const orig = store.patch.bind(store);
store.patch = async (id, patch, now) => { console.log("expected", patch.expected, "maxBytes", patch.maxBytes); return orig(id, patch, now); };
const ops = tesseraOps(define({ store }));
await ops.seed(2); await ops.modify(1); await ops.modify(1);
