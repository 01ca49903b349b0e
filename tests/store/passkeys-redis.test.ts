import { afterAll, beforeAll } from "vitest";
import { randomId } from "../../app/lib/crypto.server";
import { createRedisStore } from "../../app/store/redis.server";
import { startRedisServer, type RedisServer } from "../support/redis-server";
import { runPasskeyScenario } from "./passkeys-scenario";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

runPasskeyScenario("Redis", async () =>
  createRedisStore({ url: server.url, prefix: `pk${randomId(4)}:`, onConnectionError: () => {} }),
);
