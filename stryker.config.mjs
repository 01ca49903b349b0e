// Mutation testing of the security core (`npm run test:mutation`, see docs/mutation.md).
// Not part of `npm test`: a full run takes a long while on a small machine.
/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner"],
  // Only the test files that import a mutated module run for it (vitest's "related"); set
  // MUTATION_TESTS (vitest.mutation.config.ts) to narrow them further while working on one file.
  vitest: { configFile: "vitest.mutation.config.ts", related: true },
  mutate: [
    "app/auth/**/*.ts",
    "app/lib/**/*.ts",
    "app/store/**/*.ts",
    "adapters/**/*.ts",
    // The durable sign-in mail queue (S32): memory, SQLite and BullMQ backends.
    "app/mail/*queue*.ts",
    // The sign-in email itself: its MIME composition (header guards), SMTP and its text.
    "app/mail/mime.ts",
    "app/mail/smtp.server.ts",
    "app/mail/template.ts",
    "!**/*.test.ts",
    "!**/emulators/**",
    "!**/tests/**",
  ],
  // Each mutant runs only the tests that reach it.
  coverageAnalysis: "perTest",
  // The machine is small and shared: one test process at a time.
  concurrency: 1,
  // A re-run only tests mutants in code, or under tests, that changed since the last run.
  incremental: true,
  incrementalFile: "reports/mutation/stryker-incremental.json",
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  clearTextReporter: { allowEmojis: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 90, low: 80, break: null },
  // Tests start real servers (SMTP, Redis, emulators); under load they are slow, not stuck.
  timeoutMS: 20_000,
  timeoutFactor: 2,
  dryRunTimeoutMinutes: 30,
  // A mutant in code that runs only while a module loads (a module-level constant) would
  // need the whole suite re-run in a fresh process each: hours here. Those few are tested
  // with a separate command instead (docs/mutation.md, "Module-level constants"):
  // MUTATION_STATIC=1 tests them too (Stryker's CLI has no way to turn a boolean option off).
  ignoreStatic: process.env.MUTATION_STATIC !== "1",
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
};
