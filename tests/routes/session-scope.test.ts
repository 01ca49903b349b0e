import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { createDocumentHandler } from "../security/document";
import { inRequestScope } from "../../app/auth/session.server";
import { StoreUnavailableError } from "../../app/store/errors";
import { createTestApp, signedInRequest, TEST_ORIGIN, type TestApp } from "../support/auth";

const STORE_READS = new Set(["get", "getMany", "indexMembers"]);
const STORE_WRITES = ["set", "take", "delete", "increment", "counter", "indexAdd", "indexRemove"];
const USER_CALLS = ["get", "getByEmail", "findIdentity", "identities", "update", "link"];

/**
 * What one request asks of the stores. Calls are sent as a pipelining network client sends
 * them (ioredis on one connection): every call made before the next turn of the event loop
 * goes out together and is answered together, one round trip; a call that could only be
 * made after an answer (it needed it) goes out in the next one.
 */
const meter = { roundTrips: 0, storeReads: 0, userReads: 0, calls: [] as string[] };
let trip: Array<() => void> | undefined;

function roundTrip(): Promise<void> {
  if (!trip) {
    const calls: Array<() => void> = (trip = []);
    meter.roundTrips += 1;
    setImmediate(() => {
      trip = undefined;
      for (const answer of calls) answer();
    });
  }
  const calls = trip;
  return new Promise((resolve) => calls.push(resolve));
}

function measure(target: object, names: Iterable<string>, label: "store" | "users") {
  const methods = target as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const name of names) {
    const original = methods[name]!.bind(target);
    methods[name] = async (...args) => {
      if (label === "users") meter.userReads += name === "get" ? 1 : 0;
      else if (STORE_READS.has(name)) meter.storeReads += 1;
      meter.calls.push(`${label}.${name}`);
      await roundTrip();
      return original(...args);
    };
  }
}

function resetMeter() {
  Object.assign(meter, { roundTrips: 0, storeReads: 0, userReads: 0, calls: [] });
}

let app: TestApp;
let handle: (request: Request) => Promise<Response>;
beforeEach(async () => {
  app = createTestApp();
  trip = undefined;
  measure(app.store, [...STORE_READS, ...STORE_WRITES], "store");
  measure(app.userStore, USER_CALLS, "users");
  handle ??= await createDocumentHandler();
});
afterEach(() => app.close());

it("a page reads the session once per request, however many route modules ask for it", async () => {
  const request = await signedInRequest("/dashboard");
  resetMeter();
  const response = await handle(request);
  expect(response.status).toBe(200);
  // Middleware, root loader and dashboard loader all ask; the revocation check (the
  // revoked-id and not-before keys, in one call) runs once.
  expect(meter.storeReads).toBe(1);
});

it("a page reads its user once, in the same round trip as the session's revocation check", async () => {
  const request = await signedInRequest("/dashboard");
  resetMeter();
  const response = await handle(request);
  expect(response.status).toBe(200);
  expect(await response.text()).toContain("person@example.com");
  expect(meter.calls.sort()).toEqual(["store.getMany", "users.get"]);
  // Asked one after the other, the two would be two round trips on Redis.
  expect(meter.roundTrips).toBe(1);
});

it("a session due its roll reads its record with the revocation check, not after it", async () => {
  const request = await signedInRequest("/dashboard");
  app.clock.advance(61_000);
  resetMeter();
  const response = await handle(request);
  expect(response.status).toBe(200);
  expect(response.headers.getSetCookie().some((c) => c.startsWith("session="))).toBe(true);
  // One read (checks, record and user together), then the rolled record's two writes.
  expect(meter.storeReads).toBe(1);
  expect(meter.calls.filter((call) => call.startsWith("store.")).sort()).toEqual([
    "store.getMany",
    "store.indexAdd",
    "store.set",
  ]);
  expect(meter.roundTrips).toBe(2);
});

it("sign-out revokes the session the request read, with no second read", async () => {
  const request = await signedInRequest("/logout", {
    init: { method: "POST", body: new URLSearchParams({}) },
  });
  resetMeter();
  const response = await handle(request);
  expect(response.status).toBe(303);
  expect(meter.calls.filter((call) => call === "store.getMany")).toHaveLength(1);
  // And the sign-out held (S22): the same cookie is refused afterwards.
  const again = new Request(`${TEST_ORIGIN}/dashboard`, { headers: request.headers });
  expect((await app.services.sessions.read(again)).session).toBeNull();
});

it("the user record read beside the check is never used for a refused session, nor its failure", async () => {
  const request = await signedInRequest("/");
  const session = (await app.services.sessions.read(request)).session!;
  await app.services.sessions.revokeAllFor(session.user.id);
  // The users store fails: a revoked session must not turn that into a 503 (or an
  // unhandled rejection) on a page that now simply has nobody signed in.
  app.userStore.get = () => Promise.reject(new StoreUnavailableError("users store down"));
  const response = await handle(new Request(request.url, { headers: request.headers }));
  expect(response.status).toBe(200);
  const page = await response.text();
  expect(page).not.toContain("person@example.com");
  expect(page).toContain("Sign in");
});

it("a live session whose user cannot be read fails closed with a 503", async () => {
  const request = await signedInRequest("/dashboard");
  app.userStore.get = () => Promise.reject(new StoreUnavailableError("users store down"));
  // React Router logs the 503 it renders; expected here.
  const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
  try {
    const response = await handle(request);
    expect(response.status).toBe(503);
  } finally {
    logged.mockRestore();
  }
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
