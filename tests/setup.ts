// console.error during a test fails it unless the test expects it (spy on it first).
import { configure } from "@testing-library/dom";
import { afterAll, afterEach, beforeEach, vi } from "vitest";

// findBy* waits up to 1 s by default; a busy machine can take longer to render a route.
configure({ asyncUtilTimeout: 5_000 });

let errors: unknown[][] = [];
const original = console.error;

beforeEach(() => {
  errors = [];
  console.error = (...args: unknown[]) => {
    errors.push(args);
    original(...args);
  };
});

afterEach(() => {
  const seen = errors;
  console.error = original;
  errors = [];
  if (seen.length > 0 && !vi.isMockFunction(console.error)) {
    throw new Error(
      `console.error was called during the test:\n${seen.map((a) => a.map(String).join(" ")).join("\n")}`,
    );
  }
});

// Test files share a worker (vitest.config.ts: isolate false), so what one installs
// process-wide must be gone before the next file starts, or that file would run on it.
const SERVICES = Symbol.for("passwordless-starter.services");
const DRAINING = Symbol.for("passwordless-starter.draining");
afterAll(() => {
  const shared = globalThis as { [SERVICES]?: unknown; [DRAINING]?: unknown };
  const left = [
    shared[SERVICES] !== undefined && "the app's services (close the test app: app.close())",
    shared[DRAINING] !== undefined && "the draining flag",
  ].filter(Boolean);
  if (left.length > 0) throw new Error(`this file left behind ${left.join(" and ")}`);
});
