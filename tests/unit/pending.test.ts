import { describe, expect, it } from "vitest";
import { createPendingLoginStore, type PendingLogin } from "../../app/auth/pending.server";
import { deriveKey, hmacHex, sha256Hex } from "../../app/lib/crypto.server";
import { createSealedCookie } from "../../app/lib/sealed-cookie.server";
import { createTestClock, type TestClock } from "../support/clock";

const OLD = "old-secret-0123456789abcdef0123456789abcdef";
const NEW = "new-secret-0123456789abcdef0123456789abcdef";

function storeWith(clock: TestClock, secrets = [NEW], ttlSeconds = 600, secure = false) {
  return createPendingLoginStore({ secrets, secure, ttlSeconds, clock });
}

function fields(): Omit<PendingLogin, "id" | "nonce" | "expiresAt" | "sentAt"> {
  return {
    email: "person@example.com",
    ref: "r1",
    adapter: "local",
    delivered: { link: true, code: true },
    returnTo: "/dashboard",
  };
}

/** The Cookie header a browser would send back for a Set-Cookie line. */
const cookieOf = (setCookie: string) => setCookie.split(";")[0] ?? "";
const maxAgeOf = (setCookie: string) => Number(/Max-Age=(\d+)/i.exec(setCookie)?.[1]);
const request = (cookie: string) =>
  new Request("http://localhost/", { headers: { Cookie: cookie } });

describe("S8 the pending-login cookie", () => {
  it("round-trips a pending sign-in, with a 256-bit nonce and a 128-bit id", async () => {
    const clock = createTestClock();
    const store = storeWith(clock);
    const pending = store.create(fields());
    expect(pending.id).toMatch(/^[0-9a-f]{32}$/);
    expect(Buffer.from(pending.nonce, "base64url")).toHaveLength(32);
    expect([pending.expiresAt, pending.sentAt]).toEqual([clock() + 600_000, clock()]);
    expect(store.nonceHash(pending)).toBe(sha256Hex(pending.nonce));
    const setCookie = await store.commit(pending);
    expect(setCookie).toMatch(/^pending=/);
    expect(await store.read(request(cookieOf(setCookie)))).toEqual(pending);
  });

  it("an expired pending-login cookie, replayed by hand, is refused by the server", async () => {
    const clock = createTestClock();
    const store = storeWith(clock);
    const pending = store.create(fields());
    const cookie = cookieOf(await store.commit(pending));
    clock.advance(600_000 - 1);
    expect(await store.read(request(cookie))).not.toBeNull();
    clock.advance(1);
    expect(await store.read(request(cookie))).toBeNull();
  });

  it("lives at most 600 seconds, however long the lifetime asked for", async () => {
    const clock = createTestClock();
    const store = storeWith(clock, [NEW], 3600);
    const pending = store.create(fields());
    expect(pending.expiresAt).toBe(clock() + 600_000);
    const setCookie = await store.commit(pending);
    expect(maxAgeOf(setCookie)).toBe(600);
    clock.advance(600_000);
    expect(await store.read(request(cookieOf(setCookie)))).toBeNull();
    // A shorter lifetime is kept as it is.
    expect(storeWith(clock, [NEW], 120).create(fields()).expiresAt).toBe(clock() + 120_000);
  });

  it("Max-Age is the time left, never less than a second", async () => {
    const clock = createTestClock();
    const store = storeWith(clock);
    const pending = store.create(fields());
    clock.advance(100_500);
    expect(maxAgeOf(await store.commit(pending))).toBe(499);
    clock.advance(499_000);
    expect(maxAgeOf(await store.commit(pending))).toBe(1);
  });

  it("clear() expires the cookie at once", async () => {
    const store = storeWith(createTestClock());
    const cleared = await store.clear();
    expect(cleared).toMatch(/^pending=;/);
    expect(cleared).toMatch(/Max-Age=0/i);
    expect(cleared).toMatch(/Expires=Thu, 01 Jan 1970/);
  });

  it("over https the cookie is __Host-pending, Secure", async () => {
    const store = storeWith(createTestClock(), [NEW], 600, true);
    expect(store.cookieName).toBe("__Host-pending");
    const setCookie = await store.commit(store.create(fields()));
    expect(setCookie).toMatch(/^__Host-pending=/);
    expect(setCookie).toMatch(/; Secure/);
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; SameSite=Lax/);
    expect(setCookie).toMatch(/; Path=\//);
  });

  it("no cookie, another cookie, a huge header, a tampered or foreign value: no pending sign-in", async () => {
    const clock = createTestClock();
    const store = storeWith(clock);
    const cookie = cookieOf(await store.commit(store.create(fields())));
    expect(await store.read(new Request("http://localhost/"))).toBeNull();
    expect(await store.read(request("other=1"))).toBeNull();
    expect(await store.read(request(`${cookie}; pad=${"x".repeat(16_400)}`))).toBeNull();
    const value = cookie.slice("pending=".length);
    expect(await store.read(request(`pending=${value.slice(0, -4)}AAAA`))).toBeNull();
    // Signed by a secret we do not hold.
    const foreign = storeWith(clock, [OLD]);
    expect(
      await store.read(request(cookieOf(await foreign.commit(foreign.create(fields()))))),
    ).toBeNull();
  });

  it("S19 reads only what was sealed for the pending-login purpose, as every release seals it", async () => {
    const clock = createTestClock();
    const store = storeWith(clock);
    const pending = store.create(fields());
    const sealedFor = (purpose: string) =>
      cookieOf(
        createSealedCookie({ name: "pending", secrets: [NEW], purpose, secure: false }).serialize(
          JSON.stringify(pending),
          600,
        ),
      );
    expect(await store.read(request(sealedFor("pending-login")))).toEqual(pending);
    expect(await store.read(request(sealedFor("session")))).toBeNull();
    expect(await store.read(request(sealedFor("")))).toBeNull();
  });

  it("refuses a sealed value that is not a pending sign-in with a numeric expiry", async () => {
    const clock = createTestClock();
    const store = storeWith(clock);
    const cookie = createSealedCookie({
      name: "pending",
      secrets: [NEW],
      purpose: "pending-login",
      secure: false,
    });
    const later = clock() + 60_000;
    for (const plaintext of [
      "not json",
      JSON.stringify({ ...store.create(fields()), expiresAt: undefined }),
      JSON.stringify({ ...store.create(fields()), expiresAt: String(later) }),
    ]) {
      expect(await store.read(request(cookieOf(cookie.serialize(plaintext, 600))))).toBeNull();
    }
  });

  it("S24 a cookie from before a SESSION_SECRETS rotation still reads", async () => {
    const clock = createTestClock();
    const before = storeWith(clock, [OLD]);
    const pending = before.create(fields());
    const cookie = cookieOf(await before.commit(pending));
    expect(await storeWith(clock, [NEW, OLD]).read(request(cookie))).toEqual(pending);
  });
});

describe("S16 the provider state", () => {
  it("names the pending id, signed; anything else is refused", () => {
    const store = storeWith(createTestClock());
    const pending = store.create(fields());
    const state = store.state(pending);
    expect(state.startsWith(`${pending.id}.`)).toBe(true);
    expect(store.verifyState(state)).toBe(pending.id);
    const [id, mac] = state.split(".") as [string, string];
    const flipped = `${mac.slice(0, -1)}${mac.endsWith("0") ? "1" : "0"}`;
    for (const bad of [
      `${id}.${flipped}`,
      `${"0".repeat(32)}.${mac}`,
      id,
      `.${mac}`,
      `${id}.`,
      `${id.toUpperCase()}.${mac}`,
      `${id}x.${mac}`,
      `${state}${"0".repeat(200)}`,
      // Over 200 characters, though its first two parts are a good id and MAC.
      `${state}.${"x".repeat(200)}`,
      "",
      null,
    ]) {
      expect(store.verifyState(bad)).toBeNull();
    }
  });

  it("is the id and the first 32 hex digits of its HMAC under the pending-state key, in every release", () => {
    // States in flight across an upgrade must still verify: the derivation is fixed.
    const store = storeWith(createTestClock());
    const pending = store.create(fields());
    const mac = hmacHex(deriveKey(NEW, "pending-state"), pending.id).slice(0, 32);
    expect(store.state(pending)).toBe(`${pending.id}.${mac}`);
  });

  it("names only ids of our own form (32 hex digits), even when their MAC is right", () => {
    const store = storeWith(createTestClock());
    const key = deriveKey(NEW, "pending-state");
    const signed = (id: string) => `${id}.${hmacHex(key, id).slice(0, 32)}`;
    const id = "0123456789abcdef".repeat(2);
    expect(store.verifyState(signed(id))).toBe(id);
    expect(store.verifyState(signed(`x${id}`))).toBeNull();
    expect(store.verifyState(signed(`${id}x`))).toBeNull();
  });

  it("reads a state of up to 200 characters, and no longer one", () => {
    const store = storeWith(createTestClock());
    const state = store.state(store.create(fields()));
    // Whatever follows a second dot is not read; only the length cap refuses it.
    const padded = (length: number) => `${state}.${"x".repeat(length - state.length - 1)}`;
    expect(store.verifyState(padded(200))).not.toBeNull();
    expect(store.verifyState(padded(201))).toBeNull();
  });

  it("S24 a state issued before a SESSION_SECRETS rotation still verifies; one from an unknown secret does not", () => {
    const clock = createTestClock();
    const before = storeWith(clock, [OLD]);
    const pending = before.create(fields());
    const state = before.state(pending);
    const rotated = storeWith(clock, [NEW, OLD]);
    expect(rotated.verifyState(state)).toBe(pending.id);
    // The new first secret signs new states.
    expect(storeWith(clock, [NEW]).verifyState(rotated.state(pending))).toBe(pending.id);
    expect(storeWith(clock, [NEW]).verifyState(state)).toBeNull();
  });
});
