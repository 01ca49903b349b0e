import { describe, expect, it } from "vitest";
import {
  approximateNetwork,
  createSessionManager,
  inRequestScope,
  oncePerRequest,
  sessionStoreUnavailable,
  type EndedSessions,
  type SessionManagerOptions,
} from "../../app/auth/session.server";
import { createSealedCookie } from "../../app/lib/sealed-cookie.server";
import { StoreUnavailableError } from "../../app/store/errors";
import { MemoryStore } from "../../app/store/memory.server";
import { createTestClock } from "../support/clock";

const OLD = "old-secret-0123456789abcdef0123456789";
const NEW = "new-secret-0123456789abcdef0123456789";
// Long enough that the S19 check below cannot fail by chance: the seal's random-looking bytes
// would hold a given 5-character id once in ~10^10 cookies, this one practically never.
const USER = { id: "usr_0123456789abcdef01234567", adapter: "local" };

function setup(overrides: Partial<SessionManagerOptions> = {}) {
  const clock = createTestClock();
  const store = new MemoryStore({ clock, sweepIntervalMs: 0 });
  const options: SessionManagerOptions = {
    secrets: [NEW],
    secure: false,
    maxAgeSeconds: 3600,
    idleTimeoutSeconds: 600,
    store,
    clock,
    ...overrides,
  };
  return { clock, store, options, sessions: createSessionManager(options) };
}

const requestWith = (setCookie: string) =>
  new Request("http://localhost/", { headers: { Cookie: setCookie.split(";")[0] as string } });

describe("sessions", () => {
  it("S18 sets HttpOnly, SameSite=Lax, Path=/, and Secure with the __Host- prefix over https", async () => {
    const plain = await setup().sessions.create(USER);
    expect(plain.setCookie).toMatch(/^session=/);
    expect(plain.setCookie).toMatch(/HttpOnly/);
    expect(plain.setCookie).toMatch(/SameSite=Lax/);
    expect(plain.setCookie).toMatch(/Path=\//);
    expect(plain.setCookie).not.toMatch(/Secure|Domain/i);
    const secure = await setup({ secure: true }).sessions.create(USER);
    expect(secure.setCookie).toMatch(/^__Host-session=/);
    expect(secure.setCookie).toMatch(/; Secure/);
    expect(secure.setCookie).not.toMatch(/Domain/i);
  });

  it("S19 keeps nothing personal readable in the cookie, and stays small", async () => {
    const { setCookie } = await setup().sessions.create(USER);
    const value = setCookie.split(";")[0]?.split("=").slice(1).join("=") ?? "";
    // The whole value is one seal (iv ‖ ciphertext ‖ tag), base64url: nothing else rides along.
    expect(value).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const decoded = Buffer.from(value, "base64url").toString("utf8");
    // The payload holds only ids and stamps, and even the user id is not readable.
    expect(decoded).not.toContain(USER.id);
    expect(setCookie.length).toBeLessThan(1024);
  });

  it("reads a live session with one store call (revocation and not-before together)", async () => {
    const { sessions, store } = setup();
    const { setCookie } = await sessions.create(USER);
    const calls: string[] = [];
    for (const method of ["get", "getMany", "set", "take", "indexMembers", "indexAdd"] as const) {
      const original = store[method].bind(store) as (...args: unknown[]) => Promise<unknown>;
      (store as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        calls.push(method);
        return original(...args);
      };
    }
    expect((await sessions.read(requestWith(setCookie))).session?.user.id).toBe(USER.id);
    expect(calls).toEqual(["getMany"]);
  });

  it("a roll reads the session's record in that same store call, and keeps what it holds", async () => {
    const { sessions, store, clock } = setup();
    const { setCookie, session } = await sessions.create(USER, { userAgent: "Firefox/128.0" });
    clock.advance(61_000);
    const calls: string[] = [];
    for (const method of ["get", "getMany", "set", "indexMembers", "indexAdd"] as const) {
      const original = store[method].bind(store) as (...args: unknown[]) => Promise<unknown>;
      (store as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        calls.push(method);
        return original(...args);
      };
    }
    const read = await sessions.read(requestWith(setCookie));
    expect(read.setCookie).toBeDefined();
    expect(calls).toEqual(["getMany", "set", "indexAdd"]);
    const [listed] = await sessions.list(USER.id);
    expect(listed).toMatchObject({
      createdAt: session.issuedAt,
      lastSeenAt: clock(),
      userAgent: "Firefox/128.0",
    });
  });

  it("tells `alongside` the user id before the checks answer, and only for a cookie in time", async () => {
    const { sessions, store, clock } = setup();
    const { setCookie } = await sessions.create(USER);
    const seen: Array<{ userId: string; checked: boolean }> = [];
    let checked = false;
    const getMany = store.getMany.bind(store);
    store.getMany = async (keys) => {
      const values = await getMany(keys);
      checked = true;
      return values;
    };
    const alongside = (userId: string) => seen.push({ userId, checked });
    await sessions.read(requestWith(setCookie), { alongside });
    expect(seen).toEqual([{ userId: USER.id, checked: false }]);
    // Options without `alongside` are fine too.
    expect((await sessions.read(requestWith(setCookie), {})).session?.user.id).toBe(USER.id);
    // A foreign cookie and an expired one never get that far.
    await sessions.read(requestWith("session=abc"), { alongside });
    clock.advance(3_600_000);
    await sessions.read(requestWith(setCookie), { alongside });
    expect(seen).toHaveLength(1);
  });

  it("S20 gives a new 128-bit session id at every sign-in", async () => {
    const { sessions } = setup();
    const a = await sessions.create(USER);
    const b = await sessions.create(USER);
    expect(a.session.id).toMatch(/^[0-9a-f]{32}$/);
    expect(a.session.id).not.toBe(b.session.id);
  });

  it("S21 refuses a session idle past the timeout, however fresh its cookie's Max-Age", async () => {
    const { sessions, clock } = setup();
    const { setCookie } = await sessions.create(USER);
    clock.advance(599_000);
    expect((await sessions.read(requestWith(setCookie))).session?.user.id).toBe(USER.id);
    clock.advance(2_000);
    const late = await sessions.read(requestWith(setCookie));
    expect(late.session).toBeNull();
    expect(late.setCookie).toMatch(/^session=;/);
  });

  it("S21 rolls the idle stamp at most once a minute, and never past the absolute lifetime", async () => {
    const { sessions, clock } = setup();
    let { setCookie } = await sessions.create(USER);
    clock.advance(30_000);
    expect((await sessions.read(requestWith(setCookie))).setCookie).toBeUndefined();
    for (let elapsed = 30_000; elapsed + 300_000 < 3_600_000; elapsed += 300_000) {
      clock.advance(300_000);
      const read = await sessions.read(requestWith(setCookie));
      expect(read.session).not.toBeNull();
      expect(read.setCookie).toBeDefined();
      setCookie = read.setCookie as string;
    }
    clock.advance(300_000);
    expect((await sessions.read(requestWith(setCookie))).session).toBeNull();
  });

  it("S22 a destroyed session's copied cookie is refused until it would have expired", async () => {
    const { sessions } = setup();
    const { setCookie } = await sessions.create(USER);
    const copy = requestWith(setCookie);
    await sessions.destroy(requestWith(setCookie));
    expect((await sessions.read(copy)).session).toBeNull();
  });

  it("S22 sign out everywhere ends every older session of that user only", async () => {
    const { sessions, clock } = setup();
    const a = await sessions.create(USER);
    const other = await sessions.create({ ...USER, id: "usr_2" });
    clock.advance(1000);
    await sessions.revokeAllFor(USER.id);
    clock.advance(1000);
    const fresh = await sessions.create(USER);
    expect((await sessions.read(requestWith(a.setCookie))).session).toBeNull();
    expect((await sessions.read(requestWith(other.setCookie))).session).not.toBeNull();
    expect((await sessions.read(requestWith(fresh.setCookie))).session).not.toBeNull();
  });

  it("S24 verifies cookies signed with an older secret after rotation, and refuses unknown secrets", async () => {
    const before = setup({ secrets: [OLD] });
    const { setCookie } = await before.sessions.create(USER);
    const rotated = createSessionManager({ ...before.options, secrets: [NEW, OLD] });
    expect((await rotated.read(requestWith(setCookie))).session?.user.id).toBe(USER.id);
    const stranger = createSessionManager({ ...before.options, secrets: [NEW] });
    expect((await stranger.read(requestWith(setCookie))).session).toBeNull();
  });

  it("S26 treats malformed and huge cookies as no session, never an error", async () => {
    const { sessions } = setup();
    for (const cookie of [
      "session=",
      "session=%%%",
      "session=e30%3D.abc",
      `session=${"a".repeat(20_000)}`,
      "session=a.b.c",
    ]) {
      const read = await sessions.read(
        new Request("http://localhost/", { headers: { Cookie: cookie } }),
      );
      expect(read.session).toBeNull();
    }
  });
});

describe("S21 the session's deadlines, at their bounds", () => {
  it("ends exactly at its idle deadline, not a millisecond later", async () => {
    const { sessions, clock } = setup({ rollIntervalMs: 3_600_000 });
    const { setCookie } = await sessions.create(USER);
    clock.advance(600_000 - 1);
    expect((await sessions.read(requestWith(setCookie))).session).not.toBeNull();
    clock.advance(1);
    expect((await sessions.read(requestWith(setCookie))).session).toBeNull();
  });

  it("ends exactly at its absolute lifetime, however recently it rolled", async () => {
    const { sessions, clock } = setup({ idleTimeoutSeconds: 3600 });
    let { setCookie } = await sessions.create(USER);
    clock.advance(3_000_000);
    setCookie = (await sessions.read(requestWith(setCookie))).setCookie ?? setCookie;
    clock.advance(600_000 - 1);
    expect((await sessions.read(requestWith(setCookie))).session).not.toBeNull();
    clock.advance(1);
    expect((await sessions.read(requestWith(setCookie))).session).toBeNull();
  });

  it("rolls exactly one interval after the last stamp", async () => {
    const { sessions, clock } = setup();
    const { setCookie } = await sessions.create(USER);
    clock.advance(60_000 - 1);
    expect((await sessions.read(requestWith(setCookie))).setCookie).toBeUndefined();
    clock.advance(1);
    expect((await sessions.read(requestWith(setCookie))).setCookie).toContain("session=");
  });

  it("says when it ends: the absolute lifetime from sign-in, the idle deadline capped by it", async () => {
    const { sessions, clock } = setup({ idleTimeoutSeconds: 3000, maxAgeSeconds: 3600 });
    const { setCookie, session } = await sessions.create(USER);
    expect(session.expiresAt).toBe(session.issuedAt + 3_600_000);
    expect(session.idleExpiresAt).toBe(session.issuedAt + 3_000_000);
    // Max-Age is the time left of the absolute lifetime, in whole seconds.
    expect(setCookie).toContain("Max-Age=3600;");
    clock.advance(3_000_000 - 1);
    const rolled = await sessions.read(requestWith(setCookie));
    expect(rolled.setCookie).toContain("Max-Age=600;");
    expect(rolled.session?.idleExpiresAt).toBe(session.issuedAt + 3_600_000);
  });
});

/** A valid seal of any payload under the session's own purpose and secret. */
function forged(payload: unknown): Request {
  const cookie = createSealedCookie({
    name: "session",
    secrets: [NEW],
    purpose: "session",
    secure: false,
  });
  const text = typeof payload === "string" ? payload : JSON.stringify(payload);
  return requestWith(cookie.serialize(text, 60));
}

/** Records every call of `onEnded`, for the provider sign-out it drives. */
function endedLog() {
  const calls: EndedSessions[] = [];
  return { calls, onEnded: async (event: EndedSessions) => void calls.push(event) };
}

const PS = { id: "session_01", userId: "user_01" };
const PS2 = { id: "session_02", userId: "user_01" };

describe("S19 S26 a sealed cookie whose payload is not a session is no session", () => {
  it("no cookie: no session and nothing to clear; a foreign cookie: cleared", async () => {
    const { sessions } = setup();
    expect(await sessions.read(new Request("http://localhost/"))).toEqual({ session: null });
    const foreign = await sessions.read(requestWith("session=abc"));
    expect(foreign).toEqual({ session: null, setCookie: await sessions.clearCookie() });
    expect(foreign.setCookie).toMatch(/^session=; Max-Age=0;/);
  });

  it("refuses a sealed payload that is not JSON, or lacks any of its fields", async () => {
    const { sessions, clock } = setup();
    const good = { sid: "a".repeat(32), uid: USER.id, by: "local", iat: clock(), seen: clock() };
    expect((await sessions.read(forged(good))).session?.user.id).toBe(USER.id);
    const bad = [
      "not json",
      "null",
      { ...good, sid: 1 },
      { ...good, uid: undefined },
      { ...good, by: null },
      { ...good, iat: String(good.iat) },
      { ...good, seen: undefined },
    ];
    for (const payload of bad) {
      const read = await sessions.read(forged(payload));
      expect(read.session).toBeNull();
      expect(read.setCookie).toBe(await sessions.clearCookie());
    }
  });
});

describe("what a read says about the session", () => {
  it("the user, the method, and the provider's session only when there is one", async () => {
    const { sessions, clock } = setup();
    const plain = await sessions.create(USER);
    expect(plain.session).toEqual({
      id: plain.session.id,
      user: USER,
      issuedAt: clock(),
      lastSeenAt: clock(),
      expiresAt: clock() + 3_600_000,
      idleExpiresAt: clock() + 600_000,
    });
    expect((await sessions.read(requestWith(plain.setCookie))).session).toEqual(plain.session);
    const withProvider = await sessions.create({ ...USER, adapter: "workos", providerSession: PS });
    const read = await sessions.read(requestWith(withProvider.setCookie));
    expect(read.session?.user).toEqual({ ...USER, adapter: "workos", providerSession: PS });
  });

  it("a rolled cookie's Max-Age never falls below one second", async () => {
    const { sessions, clock } = setup({ idleTimeoutSeconds: 3600 });
    const { setCookie } = await sessions.create(USER);
    clock.advance(3_600_000 - 400);
    const rolled = await sessions.read(requestWith(setCookie));
    expect(rolled.session).not.toBeNull();
    expect(rolled.setCookie).toContain("Max-Age=1;");
  });

  it("reads only the two checks when no roll is due", async () => {
    const { sessions, store } = setup();
    const { setCookie } = await sessions.create(USER);
    const asked: string[][] = [];
    const getMany = store.getMany.bind(store);
    store.getMany = (keys) => (asked.push([...keys]), getMany(keys));
    await sessions.read(requestWith(setCookie));
    expect(asked.map((keys) => keys.length)).toEqual([2]);
  });

  it("S22 sign out everywhere ends a session issued in the same millisecond", async () => {
    const { sessions } = setup();
    const { setCookie } = await sessions.create(USER);
    await sessions.revokeAllFor(USER.id);
    expect((await sessions.read(requestWith(setCookie))).session).toBeNull();
  });

  it("S22 destroying one session leaves the user's other sessions signed in", async () => {
    const { sessions } = setup();
    const a = await sessions.create(USER);
    const b = await sessions.create(USER);
    expect(await sessions.destroy(requestWith(a.setCookie))).toBe(await sessions.clearCookie());
    expect((await sessions.read(requestWith(a.setCookie))).session).toBeNull();
    expect((await sessions.read(requestWith(b.setCookie))).session?.id).toBe(b.session.id);
  });

  it("destroying without a live session only clears the cookie", async () => {
    const { sessions } = setup();
    expect(await sessions.destroy(new Request("http://localhost/"))).toBe(
      await sessions.clearCookie(),
    );
  });

  it("uses the system clock when none is given", async () => {
    const { options } = setup();
    const sessions = createSessionManager({ ...options, clock: undefined });
    const before = Date.now();
    const { session } = await sessions.create(USER);
    expect(session.issuedAt).toBeGreaterThanOrEqual(before);
    expect(session.issuedAt).toBeLessThanOrEqual(Date.now());
  });
});

describe("fail closed: a store that cannot answer gives the 503, anything else stays itself", () => {
  const down = () => {
    throw new StoreUnavailableError();
  };

  it("answers 503 with Retry-After and no-store from every call that needs the store", async () => {
    const { sessions, store } = setup();
    const { setCookie, session } = await sessions.create(USER);
    for (const method of ["get", "getMany", "set", "delete", "indexMembers"] as const) {
      (store as unknown as Record<string, unknown>)[method] = async () => down();
    }
    const calls = [
      () => sessions.read(requestWith(setCookie)),
      () => sessions.create(USER),
      () => sessions.revokeAllFor(USER.id),
      () => sessions.list(USER.id),
      () => sessions.revoke(USER.id, sessions.handleOf(session.id)),
    ];
    for (const call of calls) {
      const thrown = await call().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(thrown).toEqual(sessionStoreUnavailable());
    }
    const answer = sessionStoreUnavailable();
    expect(answer.init?.status).toBe(503);
    expect(answer.init?.headers).toEqual({ "Retry-After": "5", "Cache-Control": "no-store" });
    expect(answer.data).toMatch(/not answering right now\. Please try again shortly\./);
  });

  it("sign-out fails closed too, and keeps the session for when the store is back", async () => {
    const { sessions, store } = setup();
    const { setCookie } = await sessions.create(USER);
    const request = requestWith(setCookie);
    await sessions.read(request);
    const set = store.set.bind(store);
    store.set = async () => down();
    await expect(sessions.destroy(request)).rejects.toEqual(sessionStoreUnavailable());
    store.set = set;
    expect((await sessions.read(requestWith(setCookie))).session).not.toBeNull();
  });

  it("a programming error is not turned into a 503", async () => {
    const { sessions, store } = setup();
    const { setCookie } = await sessions.create(USER);
    const bug = new TypeError("bug");
    store.getMany = async () => {
      throw bug;
    };
    await expect(sessions.read(requestWith(setCookie))).rejects.toBe(bug);
  });
});

describe("one read per request", () => {
  it("reads a Request once, and a new Request again", async () => {
    const { sessions, store } = setup();
    const { setCookie } = await sessions.create(USER);
    let reads = 0;
    const getMany = store.getMany.bind(store);
    store.getMany = (keys) => ((reads += 1), getMany(keys));
    const request = requestWith(setCookie);
    await sessions.read(request);
    await sessions.read(request);
    expect(reads).toBe(1);
    await sessions.read(requestWith(setCookie));
    expect(reads).toBe(2);
  });

  it("in one scope, Request objects with the same cookie share a read; other cookies do not", async () => {
    const { sessions, store } = setup();
    const a = await sessions.create(USER);
    const b = await sessions.create({ ...USER, id: "usr_2" });
    let reads = 0;
    const getMany = store.getMany.bind(store);
    store.getMany = (keys) => ((reads += 1), getMany(keys));
    await inRequestScope(async () => {
      expect((await sessions.read(requestWith(a.setCookie))).session?.user.id).toBe(USER.id);
      expect((await sessions.read(requestWith(a.setCookie))).session?.user.id).toBe(USER.id);
      expect(reads).toBe(1);
      expect((await sessions.read(requestWith(b.setCookie))).session?.user.id).toBe("usr_2");
      expect(await sessions.read(new Request("http://localhost/"))).toEqual({ session: null });
    });
    expect(reads).toBe(2);
  });

  it("oncePerRequest keeps one answer per key", async () => {
    const request = new Request("http://localhost/");
    let loads = 0;
    const load = async () => (loads += 1);
    expect(await oncePerRequest(request, "a", load)).toBe(1);
    expect(await oncePerRequest(request, "a", load)).toBe(1);
    expect(await oncePerRequest(request, "b", load)).toBe(2);
    await inRequestScope(async () => {
      expect(await oncePerRequest(new Request("http://localhost/"), "a", load)).toBe(3);
      expect(await oncePerRequest(new Request("http://localhost/"), "a", load)).toBe(3);
    });
  });

  it("sign-out, revocation and sign out everywhere forget what the request read", async () => {
    const { sessions } = setup();
    // Sign-out, on the same Request and on another one of the same scope.
    const a = await sessions.create(USER);
    const request = requestWith(a.setCookie);
    await sessions.read(request);
    await sessions.destroy(request);
    expect((await sessions.read(request)).session).toBeNull();
    const b = await sessions.create(USER);
    await inRequestScope(async () => {
      await sessions.read(requestWith(b.setCookie));
      await sessions.destroy(requestWith(b.setCookie));
      expect((await sessions.read(requestWith(b.setCookie))).session).toBeNull();
    });
    for (const end of [
      (id: string) => sessions.revoke(USER.id, sessions.handleOf(id)),
      () => sessions.revokeAllFor(USER.id),
    ]) {
      const c = await sessions.create(USER);
      await inRequestScope(async () => {
        expect((await sessions.read(requestWith(c.setCookie))).session).not.toBeNull();
        await end(c.session.id);
        expect((await sessions.read(requestWith(c.setCookie))).session).toBeNull();
      });
    }
  });
});

describe("S22 the sessions page: listing and revoking", () => {
  it("lists each session with its handle, times, user agent (at most 256 characters) and network", async () => {
    const { sessions, clock } = setup();
    const a = await sessions.create(USER, { ip: "203.0.113.9", userAgent: "x".repeat(300) });
    clock.advance(1000);
    const b = await sessions.create(USER);
    expect(await sessions.list(USER.id)).toEqual([
      { handle: sessions.handleOf(b.session.id), createdAt: clock(), lastSeenAt: clock() },
      {
        handle: sessions.handleOf(a.session.id),
        createdAt: clock() - 1000,
        lastSeenAt: clock() - 1000,
        userAgent: "x".repeat(256),
        network: "203.0.113.0/24",
      },
    ]);
    expect(await sessions.list("usr_2")).toEqual([]);
  });

  it("handles are distinct 32-hex digests that are not the session id", async () => {
    const { sessions } = setup();
    const a = await sessions.create(USER);
    const b = await sessions.create(USER);
    const handle = sessions.handleOf(a.session.id);
    expect(handle).toMatch(/^[0-9a-f]{32}$/);
    expect(handle).not.toBe(a.session.id);
    expect(handle).not.toBe(sessions.handleOf(b.session.id));
  });

  it("most recently active first; at the same moment, the newer sign-in first", async () => {
    const { sessions, clock } = setup();
    const a = await sessions.create(USER);
    clock.advance(1000);
    const b = await sessions.create(USER);
    clock.advance(1000);
    const c = await sessions.create(USER);
    clock.advance(60_000);
    // a rolls now, then d signs in at the same moment: d, a, c, b.
    await sessions.read(requestWith(a.setCookie));
    const d = await sessions.create(USER);
    expect((await sessions.list(USER.id)).map((row) => row.handle)).toEqual(
      [d, a, c, b].map((s) => sessions.handleOf(s.session.id)),
    );
  });

  it("orders by last activity even when the absolute lifetime reorders the index", async () => {
    const { sessions, clock } = setup({ idleTimeoutSeconds: 1800 });
    const old = await sessions.create(USER);
    clock.advance(1_500_000);
    const rolled = (await sessions.read(requestWith(old.setCookie))).setCookie as string;
    clock.advance(500_000);
    const recent = await sessions.create(USER);
    clock.advance(1_000_000);
    // `old` is active now but ends at its lifetime, before `recent` goes idle.
    expect((await sessions.read(requestWith(rolled))).setCookie).toBeDefined();
    expect((await sessions.list(USER.id)).map((row) => row.handle)).toEqual(
      [old, recent].map((s) => sessions.handleOf(s.session.id)),
    );
  });

  it("at the same last activity, the newer sign-in first, whatever the ids", async () => {
    // Equal deadlines leave the index ordered by id: random, so try several pairs.
    for (let round = 0; round < 12; round++) {
      const { sessions, clock } = setup();
      const a = await sessions.create(USER);
      clock.advance(60_000);
      await sessions.read(requestWith(a.setCookie));
      const b = await sessions.create(USER);
      expect((await sessions.list(USER.id)).map((row) => row.handle)).toEqual(
        [b, a].map((s) => sessions.handleOf(s.session.id)),
      );
    }
  });

  it("the revocation marker is kept only as long as the session could have lived", async () => {
    const { sessions, store, clock } = setup({ idleTimeoutSeconds: 3600 });
    const { setCookie, session } = await sessions.create(USER);
    clock.advance(1_000_000);
    await sessions.destroy(requestWith(setCookie));
    expect(store.dump().map(([key]) => key)).toEqual([`session:revoked:${session.id}`]);
    clock.advance(2_600_000 - 1);
    expect(store.dump()).toHaveLength(1);
    clock.advance(1);
    expect(store.dump()).toEqual([]);
  });

  it("a roll moves the record's expiry with the idle deadline; the record ends with the session", async () => {
    const { sessions, clock } = setup();
    const { setCookie } = await sessions.create(USER);
    clock.advance(300_000);
    const rolled = await sessions.read(requestWith(setCookie));
    expect(rolled.setCookie).toBeDefined();
    clock.advance(599_000);
    expect(await sessions.list(USER.id)).toHaveLength(1);
    clock.advance(1000);
    expect(await sessions.list(USER.id)).toEqual([]);
  });

  it("an unrolled session's record ends at its idle deadline", async () => {
    const { sessions, clock, store } = setup();
    await sessions.create(USER);
    clock.advance(599_999);
    expect(await sessions.list(USER.id)).toHaveLength(1);
    clock.advance(1);
    expect(await sessions.list(USER.id)).toEqual([]);
    expect(store.dump()).toEqual([]);
  });

  it("a session whose record was lost is listed again from its next roll, from its sign-in time", async () => {
    const { sessions, clock, store } = setup();
    const { setCookie, session } = await sessions.create(USER, { userAgent: "Firefox" });
    await store.delete(`session:meta:${session.id}`);
    clock.advance(61_000);
    await sessions.read(requestWith(setCookie));
    expect(await sessions.list(USER.id)).toEqual([
      { handle: sessions.handleOf(session.id), createdAt: session.issuedAt, lastSeenAt: clock() },
    ]);
  });

  it("a corrupt record is skipped, not an error", async () => {
    const { sessions, store } = setup();
    const { session } = await sessions.create(USER);
    const good = await sessions.create(USER);
    await store.set(`session:meta:${session.id}`, "{not json", 60_000);
    expect((await sessions.list(USER.id)).map((row) => row.handle)).toEqual([
      sessions.handleOf(good.session.id),
    ]);
  });

  it("revoking by handle ends that session only; an unknown or another user's handle ends none", async () => {
    const { sessions } = setup();
    const a = await sessions.create(USER);
    const b = await sessions.create(USER);
    const other = await sessions.create({ ...USER, id: "usr_2" });
    expect(await sessions.revoke(USER.id, sessions.handleOf(other.session.id))).toBe(false);
    expect(await sessions.revoke(USER.id, "0".repeat(32))).toBe(false);
    expect(await sessions.revoke(USER.id, sessions.handleOf(a.session.id))).toBe(true);
    expect((await sessions.read(requestWith(a.setCookie))).session).toBeNull();
    expect((await sessions.read(requestWith(b.setCookie))).session).not.toBeNull();
    expect((await sessions.read(requestWith(other.setCookie))).session).not.toBeNull();
    expect((await sessions.list(USER.id)).map((row) => row.handle)).toEqual([
      sessions.handleOf(b.session.id),
    ]);
  });

  it("a session listed under the wrong user is neither listed nor revoked for that user", async () => {
    const { sessions, store, clock } = setup();
    const other = await sessions.create({ ...USER, id: "usr_2" });
    // An index entry that names another user's session (a corrupted or hand-edited store).
    await store.indexAdd(`session:index:${USER.id}`, other.session.id, clock() + 60_000, 50);
    expect(await sessions.list(USER.id)).toEqual([]);
    expect(await sessions.revoke(USER.id, sessions.handleOf(other.session.id))).toBe(false);
    expect((await sessions.read(requestWith(other.setCookie))).session).not.toBeNull();
  });

  it("a session whose record was lost can still be revoked, and stays revoked for its whole lifetime", async () => {
    const { sessions, store, clock } = setup({ idleTimeoutSeconds: 3600 });
    const { setCookie, session } = await sessions.create(USER);
    await store.delete(`session:meta:${session.id}`);
    expect(await sessions.revoke(USER.id, sessions.handleOf(session.id))).toBe(true);
    clock.advance(3_000_000);
    expect((await sessions.read(requestWith(setCookie))).session).toBeNull();
  });

  it("a revoked session stays refused until its lifetime ends", async () => {
    const { sessions, clock } = setup({ idleTimeoutSeconds: 3600 });
    const { setCookie, session } = await sessions.create(USER);
    clock.advance(1_000_000);
    await sessions.revoke(USER.id, sessions.handleOf(session.id));
    clock.advance(2_599_999);
    expect((await sessions.read(requestWith(setCookie))).session).toBeNull();
  });

  it("sign out everywhere empties the page, and each layer hides the old sessions alone", async () => {
    const { sessions, store, clock } = setup();
    await sessions.create(USER, { userAgent: "a" });
    await sessions.create(USER, { userAgent: "b" });
    await sessions.revokeAllFor(USER.id);
    expect(await sessions.list(USER.id)).toEqual([]);
    // The records and the index are gone, not merely hidden by the not-before stamp.
    expect(store.dump().map(([key]) => key)).toEqual([`session:not-before:${USER.id}`]);
    // And the not-before stamp alone hides a record written in the same millisecond.
    clock.advance(1000);
    await sessions.create(USER);
    await store.set(`session:not-before:${USER.id}`, String(clock()), 60_000);
    expect(await sessions.list(USER.id)).toEqual([]);
  });

  it("a revoked id still in the index is not listed", async () => {
    const { sessions, store } = setup();
    const { session } = await sessions.create(USER);
    await store.set(`session:revoked:${session.id}`, "1", 60_000);
    expect(await sessions.list(USER.id)).toEqual([]);
  });
});

describe("S22 at most so many sessions per user", () => {
  it("signing in past the cap revokes the least recently active session, for that user only", async () => {
    const { sessions, clock } = setup({ maxSessionsPerUser: 3 });
    const other = await sessions.create({ ...USER, id: "usr_2" });
    const a = await sessions.create(USER);
    clock.advance(1000);
    const b = await sessions.create(USER);
    clock.advance(1000);
    const c = await sessions.create(USER);
    clock.advance(60_000);
    await sessions.read(requestWith(a.setCookie));
    const d = await sessions.create(USER);
    const live = async (s: { setCookie: string }) =>
      (await sessions.read(requestWith(s.setCookie))).session !== null;
    expect([await live(a), await live(b), await live(c), await live(d)]).toEqual([
      true,
      false,
      true,
      true,
    ]);
    expect(await live(other)).toBe(true);
    expect(await sessions.list(USER.id)).toHaveLength(3);
  });

  it("keeps 50 by default", async () => {
    const { sessions, clock } = setup();
    const first = await sessions.create(USER);
    for (let i = 1; i < 50; i++) {
      clock.advance(1);
      await sessions.create(USER);
    }
    expect((await sessions.read(requestWith(first.setCookie))).session).not.toBeNull();
    clock.advance(1);
    await sessions.create(USER);
    expect((await sessions.read(requestWith(first.setCookie))).session).toBeNull();
    expect(await sessions.list(USER.id)).toHaveLength(50);
  });
});

describe("onEnded: the provider's sessions end with ours", () => {
  it("sign-out tells the provider session of the session it ends, and nothing without one", async () => {
    const log = endedLog();
    const { sessions } = setup({ onEnded: log.onEnded });
    const plain = await sessions.create(USER);
    await sessions.destroy(requestWith(plain.setCookie));
    expect(log.calls).toEqual([]);
    const withPs = await sessions.create({ ...USER, providerSession: PS });
    await sessions.destroy(requestWith(withPs.setCookie));
    expect(log.calls).toEqual([{ userId: USER.id, providerSessions: [PS], everywhere: false }]);
  });

  it("revoking by handle tells the revoked session's provider session", async () => {
    const log = endedLog();
    const { sessions } = setup({ onEnded: log.onEnded });
    const plain = await sessions.create(USER);
    await sessions.revoke(USER.id, sessions.handleOf(plain.session.id));
    expect(log.calls).toEqual([]);
    const { session } = await sessions.create({ ...USER, providerSession: PS });
    await sessions.revoke(USER.id, sessions.handleOf(session.id));
    expect(log.calls).toEqual([{ userId: USER.id, providerSessions: [PS], everywhere: false }]);
  });

  it("sign out everywhere tells every provider session, and tells it even with none", async () => {
    const log = endedLog();
    const { sessions } = setup({ onEnded: log.onEnded });
    await sessions.create({ ...USER, providerSession: PS });
    await sessions.create(USER);
    await sessions.create({ ...USER, providerSession: PS2 });
    await sessions.revokeAllFor(USER.id);
    expect(log.calls).toHaveLength(1);
    expect(log.calls[0]?.everywhere).toBe(true);
    expect(log.calls[0]?.providerSessions).toHaveLength(2);
    expect(log.calls[0]?.providerSessions).toEqual(expect.arrayContaining([PS, PS2]));
    await sessions.revokeAllFor("usr_2");
    expect(log.calls[1]).toEqual({ userId: "usr_2", providerSessions: [], everywhere: true });
  });

  it("eviction past the cap tells the evicted session's provider session", async () => {
    const log = endedLog();
    const { sessions, clock } = setup({ onEnded: log.onEnded, maxSessionsPerUser: 1 });
    await sessions.create({ ...USER, providerSession: PS });
    clock.advance(1);
    await sessions.create(USER);
    clock.advance(1);
    await sessions.create(USER);
    expect(log.calls).toEqual([{ userId: USER.id, providerSessions: [PS], everywhere: false }]);
  });

  it("sessions whose records were lost are still evicted and ended everywhere", async () => {
    const log = endedLog();
    const { sessions, store, clock } = setup({ onEnded: log.onEnded, maxSessionsPerUser: 1 });
    const lost = await sessions.create({ ...USER, providerSession: PS });
    await store.delete(`session:meta:${lost.session.id}`);
    clock.advance(1);
    const next = await sessions.create(USER);
    expect((await sessions.read(requestWith(lost.setCookie))).session).toBeNull();
    expect(log.calls).toEqual([]);
    await store.delete(`session:meta:${next.session.id}`);
    await sessions.revokeAllFor(USER.id);
    expect(log.calls).toEqual([{ userId: USER.id, providerSessions: [], everywhere: true }]);
    expect((await sessions.read(requestWith(next.setCookie))).session).toBeNull();
  });

  it("a failing hook never fails the sign-out that already happened", async () => {
    const { sessions } = setup({
      onEnded: async () => {
        throw new Error("provider down");
      },
    });
    const { setCookie } = await sessions.create({ ...USER, providerSession: PS });
    expect(await sessions.destroy(requestWith(setCookie))).toBe(await sessions.clearCookie());
    expect((await sessions.read(requestWith(setCookie))).session).toBeNull();
  });
});

describe("approximateNetwork: where, not who", () => {
  it.each([
    [undefined, undefined],
    ["", undefined],
    ["not-an-ip", undefined],
    ["203.0.113.9", "203.0.113.0/24"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1::/48"],
    ["2001:0DB8:0001::", "2001:db8:1::/48"],
    ["::1", "0:0:0::/48"],
    ["::", "0:0:0::/48"],
    ["1::2:3:4:5:6:7", "1:0:2::/48"],
    ["1:2::3:4:5:6", "1:2:0::/48"],
    ["::2:3:4:5:6:7", "0:0:2::/48"],
    ["::ffff:192.0.2.1", "0:0:0::/48"],
  ])("%s → %s", (ip, network) => {
    expect(approximateNetwork(ip)).toBe(network);
  });
});
