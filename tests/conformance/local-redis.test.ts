/**
 * The adapter conformance suite for the local adapter on a real Redis (issue 6): single use
 * under concurrency, expiry, supersession and lockout hold when the one-time secrets live
 * in Redis, as they do when several instances share it.
 */
import { afterAll, beforeAll } from "vitest";
import { randomId } from "../../app/lib/crypto.server";
import { createRedisStore } from "../../app/store/redis.server";
import { startRedisServer, type RedisServer } from "../support/redis-server";
import { localHarness } from "./harnesses/local";
import { runAdapterConformance } from "./suite";

let server: RedisServer;

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await server?.stop();
});

runAdapterConformance(
  localHarness({
    name: "local on Redis",
    // The adapter checks expiry against its own (injected) clock; Redis only has to keep
    // the records at least that long, which its TTLs (lifetime + grace) do in real time.
    backend() {
      // A fresh prefix per test: the suite's "state is fresh" check holds on a shared server.
      const store = createRedisStore({
        url: server.url,
        prefix: `conf${randomId(4)}:`,
        onConnectionError: () => undefined,
      });
      return {
        store,
        // The backend that breaks here is Redis itself: with its connection gone, every store
        // call fails at once and the adapter must say `unavailable`.
        breakProvider() {
          store.client.disconnect();
        },
        teardown: () => store.close(),
      };
    },
  }),
);
