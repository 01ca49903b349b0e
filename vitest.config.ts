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
    // Vitest leaves a core free by default; on a 2-core machine that means one worker.
    maxWorkers: 2,
    // What tests log on purpose (a WorkOS failure they provoke, a server's access log) is
    // shown only for a test that fails, where it helps.
    silent: "passed-only",
  },
});
