import { afterEach, expect, it } from "vitest";
import { loader } from "../../app/routes/healthz";
import { createTestApp, type TestApp } from "../support/auth";

const DRAINING = Symbol.for("passwordless-starter.draining");
const flags = globalThis as { [DRAINING]?: boolean };

let app: TestApp;
afterEach(async () => {
  delete flags[DRAINING];
  await app.close();
});

const probe = () => loader({} as Parameters<typeof loader>[0]);

it("answers 200 while serving and 503 'draining' once server.js has begun to shut down (S33)", async () => {
  app = createTestApp();
  const serving = await probe();
  expect(serving.status).toBe(200);
  expect(await serving.json()).toMatchObject({ status: "ok", store: "ok" });
  flags[DRAINING] = true;
  const draining = await probe();
  expect(draining.status).toBe(503);
  expect(await draining.json()).toEqual({ status: "draining" });
  expect(draining.headers.get("Cache-Control")).toBe("no-store");
});
