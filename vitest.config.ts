import { vanillaExtractPlugin } from "@vanilla-extract/vite-plugin";
import { defineConfig } from "vitest/config";
import { redisSuitesToSkip } from "./tests/redis-suites.ts";

// Vitest must not load the React Router plugin (it expects a browser preamble); route
// modules are imported directly. vanilla-extract still compiles the .css.ts files.
export default defineConfig({
  plugins: [vanillaExtractPlugin()],
  test: {
    globals: true,
    include: ["tests/**/*.test.{ts,tsx}", "adapters/**/*.test.ts"],
    exclude: ["tests/e2e/**", "node_modules/**", ...redisSuitesToSkip(import.meta.dirname)],
    environment: "node",
    setupFiles: ["tests/setup.ts"],
    testTimeout: 15_000,
    hookTimeout: 60_000,
    pool: "threads",
    // A worker keeps its modules from one test file to the next instead of evaluating React,
    // React Router, the WorkOS SDK, jsdom and the app again for each of the 85 files (that
    // was about half the run). Safe because no test mocks a module or changes process.env,
    // and what is process-wide — the app's services, the draining flag, console.error —
    // each test sets and puts back; tests/setup.ts fails a file that leaves it behind.
    isolate: false,
    // Vitest leaves a core free by default; on a 2-core machine that means one worker.
    maxWorkers: 2,
    // What tests log on purpose (a WorkOS failure they provoke, a server's access log) is
    // shown only for a test that fails, where it helps.
    silent: "passed-only",
  },
});
