/**
 * A setup file of vitest.mutation.config.ts only. In Stryker's first, measuring run it
 * imports every module that Stryker mutates (stryker.config.mjs, `mutate`) before any test
 * file, so that each module's module-level code always runs outside a test.
 *
 * Why: Stryker calls a mutant *static* when the code around it runs while no test is
 * current, and ignores such mutants (`ignoreStatic`; they are tested with their own command,
 * docs/mutation.md, "Module-level constants"). Test files share a worker (isolate: false),
 * so a module loads once, in the first test file that needs it. When that file happens to
 * load it inside a test, its module-level code is counted as covered by that test instead
 * of as static, and then reported as survived: no test can see a module that was loaded
 * before the mutant was switched on. Which file comes first depends on the order of the
 * test files, so one added test file could make a file of constants drop from 98 % to 33 %.
 * Loading every module here first makes the classification the same in every run.
 *
 * The runs that test a mutant skip this: they only switch on mutants classified here.
 */
import { globSync } from "node:fs";
import { join } from "node:path";
import { inject } from "vitest";
import stryker from "../stryker.config.mjs";

const mode = (inject as (key: string) => unknown)("mode");

if (mode === "dry-run") {
  const root = join(import.meta.dirname, "..");
  const patterns = stryker.mutate;
  const files = globSync(
    patterns.filter((pattern) => !pattern.startsWith("!")),
    {
      cwd: root,
      exclude: patterns.filter((pattern) => pattern.startsWith("!")).map((p) => p.slice(1)),
    },
  ).sort();
  if (files.length === 0)
    throw new Error(`no module matches stryker.config.mjs's mutate in ${root}`);
  for (const file of files) await import(/* @vite-ignore */ join(root, file));
}
