/** After the run: remove this run's copy of the build (servers were stopped by their fixtures). */
import { rmSync } from "node:fs";

export default function globalTeardown(): void {
  const root = process.env.E2E_BUILD_ROOT;
  if (root?.includes(`${"node_modules/.cache/e2e"}/run-`))
    rmSync(root, { recursive: true, force: true });
}
