/**
 * Which test files need a real redis-server, and whether this machine can run them.
 *
 * Read by vitest.config.ts once per run. A file needs Redis when it imports
 * tests/support/redis-server. Without redis-server on PATH those files are left out with one
 * line saying what to install — unless REQUIRE_REDIS=1 (as in CI), where a missing Redis
 * fails the run instead: there the Redis suites are part of the proof.
 */
import { accessSync, constants, readdirSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";

const REDIS_IMPORT = /from\s+["'][./]*(?:support\/)?redis-server["']/;

function hasRedisServer(): boolean {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/bin", "/usr/sbin"];
  return dirs.some((dir) => {
    if (!dir) return false;
    try {
      accessSync(join(dir, "redis-server"), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.test\.tsx?$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The test files to leave out of this run (none when Redis is there). */
export function redisSuitesToSkip(root: string): string[] {
  if (hasRedisServer()) return [];
  if (process.env.REQUIRE_REDIS === "1") {
    throw new Error(
      "REQUIRE_REDIS=1 but redis-server is not on PATH: install it (apt-get install redis-server, " +
        "or brew install redis) or unset REQUIRE_REDIS to skip the Redis suites.",
    );
  }
  const files = testFiles(join(root, "tests")).filter((file) =>
    REDIS_IMPORT.test(readFileSync(file, "utf8")),
  );
  // Vitest may read its config more than once per run; say it once.
  if (!process.env.REDIS_SUITES_NOTICE) {
    process.env.REDIS_SUITES_NOTICE = "shown";
    console.log(
      `Redis suites skipped (${files.length} files): redis-server is not installed. ` +
        "Install it to run them: apt-get install redis-server (Debian/Ubuntu) or brew install redis.",
    );
  }
  return files.map((file) => file.slice(root.length + 1));
}
