import { afterEach, beforeEach, expect, it } from "vitest";
import { createDocumentHandler } from "../security/document";
import { inRequestScope } from "../../app/auth/session.server";
import { createTestApp, signedInRequest, type TestApp } from "../support/auth";

let app: TestApp;
let storeReads = 0;
beforeEach(() => {
  app = createTestApp();
  const get = app.store.get.bind(app.store);
  const getMany = app.store.getMany.bind(app.store);
  app.store.get = (key) => {
    storeReads += 1;
    return get(key);
  };
  app.store.getMany = (keys) => {
    storeReads += 1;
    return getMany(keys);
  };
});
afterEach(() => app.close());

it("a page reads the session once per request, however many route modules ask for it", async () => {
  const handle = await createDocumentHandler();
  const request = await signedInRequest("/dashboard");
  storeReads = 0;
  const response = await handle(request);
  expect(response.status).toBe(200);
  // Middleware, root loader and dashboard loader all ask; the revocation check (the
  // revoked-id and not-before keys, in one call) runs once.
  expect(storeReads).toBe(1);
});

it("a sign-out within the request empties the shared read, so nothing after it sees the old session", async () => {
  const request = await signedInRequest("/dashboard");
  const again = () => new Request(request.url, { headers: request.headers });
  await inRequestScope(async () => {
    expect((await app.services.sessions.read(again())).session).not.toBeNull();
    await app.services.sessions.destroy(again());
    expect((await app.services.sessions.read(again())).session).toBeNull();
  });
});
