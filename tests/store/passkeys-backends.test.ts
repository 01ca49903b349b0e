import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll } from "vitest";
import { MemoryStore } from "../../app/store/memory.server";
import { createSqliteStore } from "../../app/store/sqlite/store.server";
import { runPasskeyScenario } from "./passkeys-scenario";

const dir = mkdtempSync(path.join(tmpdir(), "pls-passkeys-"));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

runPasskeyScenario("memory", async () => new MemoryStore({ sweepIntervalMs: 0 }));
runPasskeyScenario("SQLite", async () =>
  createSqliteStore({ file: path.join(dir, `db-${++n}`, "store.db"), sweepIntervalMs: 0 }),
);
