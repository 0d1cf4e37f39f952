import * as lib from "../src/index.js";
import { memoryStore } from "../src/stores/memory/index.js";
import * as z from "zod";
import { measure } from "./tmp-lib-cycle.mjs";
console.log("src via tsx", JSON.stringify(await measure(lib, memoryStore, z)));
