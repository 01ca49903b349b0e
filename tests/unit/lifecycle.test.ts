/** app/lib/lifecycle.server.ts: draining only once server.js has set its flag to true (S33). */
import { afterEach, expect, it } from "vitest";
import { isDraining } from "../../app/lib/lifecycle.server";

const DRAINING = Symbol.for("passwordless-starter.draining");
const flags = globalThis as Record<symbol, unknown>;

afterEach(() => {
  delete flags[DRAINING];
});

it("is draining once server.js has set the flag, and not before", () => {
  expect(isDraining()).toBe(false);
  flags[DRAINING] = true;
  expect(isDraining()).toBe(true);
  flags[DRAINING] = false;
  expect(isDraining()).toBe(false);
});

it("reads only `true` as draining", () => {
  flags[DRAINING] = "true";
  expect(isDraining()).toBe(false);
  flags[DRAINING] = 1;
  expect(isDraining()).toBe(false);
});
