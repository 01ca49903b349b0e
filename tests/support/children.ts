import type { ChildProcess } from "node:child_process";

/**
 * The servers this process started and that are still running, killed with SIGKILL as it
 * exits, so that a test or bench that ends early leaves none behind. SIGKILL also ends a
 * process held with SIGSTOP, which keeps a SIGTERM pending until it runs again.
 */
const running = new Set<ChildProcess>();
let hooked = false;

export function killOnExit(child: ChildProcess): void {
  running.add(child);
  child.once("exit", () => running.delete(child));
  if (hooked) return;
  hooked = true;
  process.once("exit", () => {
    for (const each of running) each.kill("SIGKILL");
  });
}
