import { afterAll, beforeAll, describe } from "vitest";
import { type Backend, type BackendName, backends } from "./backends.js";

/**
 * A `describe` per backend, titled `${title}: ${name}` and skipped where the backend cannot run:
 * the backend is opened once before its tests and closed after them; `body` gets its name and
 * `opened()`, which gives the open backend inside a test.
 */
export function describeEachBackend(title: string, body: (name: BackendName, opened: () => Backend) => void): void {
  for (const spec of backends) {
    describe.skipIf(spec.skip)(`${title}: ${spec.name}`, () => {
      let backend: Backend | undefined;
      beforeAll(async () => {
        backend = await spec.open();
      }, 60_000);
      afterAll(async () => {
        await backend?.close();
      });
      body(spec.name, () => backend as Backend);
    });
  }
}
