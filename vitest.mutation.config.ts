import { defineConfig } from "vitest/config";
import base from "./vitest.config";

/**
 * The vitest configuration Stryker runs (stryker.config.mjs). `MUTATION_TESTS`, a
 * comma-separated list of test files, narrows the suite to those files, so that one
 * module's own tests can be run against all its mutants, module-level ones included.
 * Stryker's own `--testFiles` cannot be used for that: with it, Stryker 10.1 switches a
 * module-level mutant on only after the module has loaded, and reports it as survived
 * (stryker-js#6144).
 */
const only = process.env.MUTATION_TESTS?.split(",")
  .map((file) => file.trim())
  .filter(Boolean);
/**
 * `MUTATION_TEST_NAMES`, a regular expression over full test names, narrows further: e.g.
 * the limits' tests on the memory store alone (`^(?!.*\b(?:sqlite|redis)\b)`, case-
 * insensitive) test the limits' own code as well as on every backend, in a third of the time.
 */
const names = process.env.MUTATION_TEST_NAMES;

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    // Every mutated module is loaded before any test in Stryker's measuring run (see the file).
    setupFiles: [base.test?.setupFiles ?? [], "tests/mutation-preload.ts"].flat(),
    ...(only?.length ? { include: only } : {}),
    ...(names ? { testNamePattern: new RegExp(names, "i") } : {}),
  },
});
