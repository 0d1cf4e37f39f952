// Express 4, installed under the alias `express4` (npm:express@^4) to run the adapter's tests on
// both majors. @types/express describes Express 5; the calls the tests make exist in both.
declare module "express4" {
  import type express from "express";

  const express4: typeof express;
  export default express4;
}
