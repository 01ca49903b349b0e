/**
 * Before any journey: check the browser is there, build the app for production once, and
 * give this run its own copy of the build (and of the start script's file), so that a
 * rebuild elsewhere in the checkout during the run cannot swap the assets under a page.
 * Workers find the copy through E2E_BUILD_ROOT.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { CHROMIUM } from "../../playwright.config";
import { ROOT, startCommand } from "./support/server";

export default function globalSetup(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); .ci/run does this`,
    );
  }
  const started = Date.now();
  const build = spawnSync("npm", ["run", "build"], { cwd: ROOT, encoding: "utf8" });
  if (build.status !== 0) {
    throw new Error(`npm run build failed (${build.status}):\n${build.stdout}\n${build.stderr}`);
  }
  const root = path.join(ROOT, "node_modules/.cache/e2e", `run-${process.pid}`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  cpSync(path.join(ROOT, "build"), path.join(root, "build"), { recursive: true });
  const [entry] = startCommand();
  // A start script of the form `node server.js` imports "./build/…" relative to itself.
  if (entry && !entry.includes("node_modules"))
    cpSync(path.join(ROOT, entry), path.join(root, entry));
  process.env.E2E_BUILD_ROOT = root;
  console.log(`[e2e] production build ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
