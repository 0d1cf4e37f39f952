import * as lib from "../dist/index.js";
import { memoryStore } from "../dist/stores/memory/index.js";
import * as z from "zod";
import { measure } from "./tmp-lib-cycle.mjs";
console.log("dist", JSON.stringify(await measure(lib, memoryStore, z)));
