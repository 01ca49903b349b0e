import { describe, expect, it } from "vitest";
import { createSessionManager, type SessionManagerOptions } from "../../app/auth/session.server";
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
