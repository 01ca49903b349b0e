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

export default only?.length
  ? defineConfig({ ...base, test: { ...base.test, include: only } })
  : base;
