/**
 * The adapter conformance suite for the local adapter on the SQLite store (the default where
 * REDIS_URL is unset): single use under concurrency, expiry, supersession and lockout hold
 * when the one-time secrets live in a real database file.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { createSqliteStore } from "../../app/store/sqlite/store.server";
import { localHarness } from "./harnesses/local";
import { runAdapterConformance } from "./suite";

let dir: string;
let n = 0;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "pls-conformance-"));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

runAdapterConformance(
  localHarness({
    name: "local on SQLite",
    backend({ clock }) {
      // A fresh file per test: the suite's "state is fresh" check holds.
      const store = createSqliteStore({
        file: path.join(dir, `${++n}.db`),
        clock,
        sweepIntervalMs: 0,
      });
      return {
        store,
        // The backend that breaks here is the database itself: with its connection closed,
        // every store call fails and the adapter must say `unavailable`.
        breakProvider() {
          store.database.close();
        },
        teardown: () => store.close(),
      };
    },
  }),
);
