/**
 * The adapter conformance suite for the local adapter on the SQLite store (the default where
 * REDIS_URL is unset): single use under concurrency, expiry, supersession and lockout hold
 * when the one-time secrets live in a real database file.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { createLocalAdapter } from "../../adapters/local";
import { Outbox } from "../../app/mail/outbox.server";
import { createSqliteStore } from "../../app/store/sqlite/store.server";
import { appEmailProof } from "./harnesses/outbox";
import { runAdapterConformance } from "./suite";

let dir: string;
let n = 0;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "pls-conformance-"));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

runAdapterConformance({
  name: "local on SQLite",
  proofKinds: ["link", "code"],
  ttlMs: 600_000,
  bindsLinkToBrowser: true,
  maxCodeAttempts: 5,
  supersedes: true,
  hasProvider: false,
  async setup() {
    let now = Date.UTC(2030, 0, 1);
    const clock = () => now;
    const outbox = new Outbox();
    // A fresh file per test: the suite's "state is fresh" check holds.
    const store = createSqliteStore({
      file: path.join(dir, `${++n}.db`),
      clock,
      sweepIntervalMs: 0,
    });
    const adapter = createLocalAdapter({ store, mailer: outbox, hashKey: randomBytes(32), clock });
    return {
      adapter,
      proof: async (email, kind) => appEmailProof(outbox, email, kind),
      advance(ms) {
        now += ms;
      },
      // The backend that breaks here is the database itself: with its connection closed,
      // every store call fails and the adapter must say `unavailable`.
      breakProvider() {
        store.database.close();
      },
      teardown: () => store.close(),
    };
  },
});
