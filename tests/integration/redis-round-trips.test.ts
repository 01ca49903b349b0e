/**
 * The per-request session and user read on a real Redis, counted on the wire: a TCP proxy
 * between the app and Redis counts the app's turns (it sends, then waits for an answer
 * before sending again). What the app sends in one turn travels in one round trip.
 */
import { createConnection, createServer, type AddressInfo, type Server } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { randomId } from "../../app/lib/crypto.server";
import { createRedisClient, createRedisStore, firstConnection } from "../../app/store/redis.server";
import { createRedisUserStore } from "../../app/store/users/redis.server";
import { createDocumentHandler } from "../security/document";
import { createTestApp, createTestUser, signedInRequest } from "../support/auth";
import { startRedisServer, type RedisServer } from "../support/redis-server";

let redis: RedisServer;
let proxy: Server;
/** The app's turns: each run of bytes it sends after Redis has last answered it. */
let turns = 0;

beforeAll(async () => {
  redis = await startRedisServer();
  proxy = createServer((app) => {
    const upstream = createConnection(redis.port, "127.0.0.1");
    let answered = true;
    app.on("data", (chunk) => {
      if (answered) turns += 1;
      answered = false;
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      answered = true;
      app.write(chunk);
    });
    app.on("close", () => upstream.destroy());
    upstream.on("close", () => app.destroy());
    app.on("error", () => upstream.destroy());
    upstream.on("error", () => app.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
});

afterAll(async () => {
  await new Promise((resolve) => proxy?.close(resolve));
  await redis?.stop();
});

/** A test app on Redis through the proxy, and a signed-in request for /dashboard. */
async function onRedis() {
  const { port } = proxy.address() as AddressInfo;
  const client = createRedisClient({ url: `redis://127.0.0.1:${port}` });
  const prefix = `trips${randomId(4)}:`;
  const app = createTestApp({
    store: createRedisStore({ client, prefix }),
    userStore: createRedisUserStore({ client, prefix }),
  });
  await firstConnection(client, 5_000);
  const request = await signedInRequest("/dashboard", {
    user: await createTestUser({ email: "trips@example.com" }),
  });
  const close = async () => {
    await app.close();
    client.disconnect();
  };
  return { app, request, close };
}

let handle: (request: Request) => Promise<Response>;
beforeAll(async () => {
  handle = await createDocumentHandler();
});

it("a signed-in page asks Redis once: the revocation check and the user record in one round trip", async () => {
  const { request, close } = await onRedis();
  try {
    turns = 0;
    const response = await handle(request);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("trips@example.com");
    expect(turns).toBe(1);
  } finally {
    await close();
  }
});

it("a page whose session rolls asks twice: the checks with the session's record, then the writes", async () => {
  const { app, request, close } = await onRedis();
  try {
    app.clock.advance(61_000);
    turns = 0;
    const response = await handle(request);
    expect(response.status).toBe(200);
    expect(response.headers.getSetCookie().some((c) => c.startsWith("session="))).toBe(true);
    expect(turns).toBe(2);
  } finally {
    await close();
  }
});
