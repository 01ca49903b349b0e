/**
 * The adapter conformance suite for the local adapter on a real Redis (issue 6): single use
 * under concurrency, expiry, supersession and lockout hold when the one-time secrets live
 * in Redis, as they do when several instances share it.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { createLocalAdapter } from "../../adapters/local";
import { randomId } from "../../app/lib/crypto.server";
import { Outbox } from "../../app/mail/outbox.server";
import { createRedisStore } from "../../app/store/redis.server";
import { startRedisServer, type RedisServer } from "../support/redis-server";
import { appEmailProof } from "./harnesses/outbox";
import { runAdapterConformance } from "./suite";

let server: RedisServer;

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await server?.stop();
});

runAdapterConformance({
  name: "local on Redis",
  proofKinds: ["link", "code"],
  ttlMs: 600_000,
  bindsLinkToBrowser: true,
  maxCodeAttempts: 5,
  supersedes: true,
  hasProvider: false,
  async setup() {
    // The adapter checks expiry against its own (injected) clock; Redis only has to keep
    // the records at least that long, which its TTLs (lifetime + grace) do in real time.
    let now = Date.UTC(2030, 0, 1);
    const clock = () => now;
    const outbox = new Outbox();
    // A fresh prefix per test: the suite's "state is fresh" check holds on a shared server.
    const store = createRedisStore({
      url: server.url,
      prefix: `conf${randomId(4)}:`,
      onConnectionError: () => undefined,
    });
    const adapter = createLocalAdapter({ store, mailer: outbox, hashKey: randomBytes(32), clock });
    return {
      adapter,
      proof: async (email, kind) => appEmailProof(outbox, email, kind),
      advance(ms) {
        now += ms;
      },
      // The backend that breaks here is Redis itself: with its connection gone, every store
      // call fails at once and the adapter must say `unavailable`.
      breakProvider() {
        store.client.disconnect();
      },
      teardown: () => store.close(),
    };
  },
});
