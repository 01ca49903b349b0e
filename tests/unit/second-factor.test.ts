// The second-factor step's own store, alone: its sealed cookie, its records in the store
// and their lifetimes, on the memory store with a clock that moves only when told.
import { describe, expect, it } from "vitest";
import type { SecondFactorStep } from "../../adapters/types";
import type { PendingLogin } from "../../app/auth/pending.server";
import { createSecondFactorStore } from "../../app/auth/second-factor.server";
import { createSealer } from "../../app/lib/aead.server";
import { createSealedCookie } from "../../app/lib/sealed-cookie.server";
import { MemoryStore } from "../../app/store/memory.server";
import { createTestClock } from "../support/clock";

const SECRET = "mfa-secret-0123456789abcdef0123456789abcdef";
const OTHER = "other-secret-0123456789abcdef0123456789abcd";

const FROM: PendingLogin = {
  id: "p1",
  email: "ada@example.com",
  nonce: "n",
  ref: "r",
  adapter: "workos-magic-auth",
  delivered: { link: false, code: true },
  returnTo: "/dashboard",
  expiresAt: 0,
  sentAt: 0,
};

const ENROLLMENT = { qrCode: "data:image/png;base64,AAAA", secret: "JBSWY3DPEHPK3PXP" };

function setup(options: { ttlSeconds?: number; secure?: boolean; secrets?: string[] } = {}) {
  const clock = createTestClock();
  const store = new MemoryStore({ clock, sweepIntervalMs: 0 });
  const mfa = createSecondFactorStore({
    secrets: options.secrets ?? [SECRET],
    secure: options.secure ?? false,
    store,
    ttlSeconds: options.ttlSeconds ?? 300,
    clock,
  });
  /** Begin a step and read it back as the browser would send it. */
  async function begin(
    step: SecondFactorStep = { kind: "challenge", state: "pat_1" },
    from = FROM,
  ) {
    const setCookie = await mfa.begin(from, step);
    const cookie = cookieOf(setCookie);
    const pending = await mfa.read(request(cookie));
    if (!pending) throw new Error("the step just begun does not read back");
    return { setCookie, cookie, pending };
  }
  return { clock, store, mfa, begin };
}

const cookieOf = (setCookie: string) => setCookie.split(";")[0] ?? "";
const maxAgeOf = (setCookie: string) => Number(/Max-Age=(\d+)/i.exec(setCookie)?.[1]);
const request = (cookie: string) =>
  new Request("http://localhost/login/mfa", { headers: { Cookie: cookie } });

/** A cookie sealed as the step's own is, holding whatever the test wants. */
function forged(value: unknown, purpose = "second-factor", name = "mfa") {
  const cookie = createSealedCookie({ name, secrets: [SECRET], purpose, secure: false });
  return cookieOf(cookie.serialize(typeof value === "string" ? value : JSON.stringify(value), 60));
}

describe("the second-factor cookie", () => {
  it("carries the first factor's address, return path, adapter and the adapter's state", async () => {
    const { clock, mfa, begin } = setup();
    const { setCookie, pending } = await begin();
    expect(pending).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      email: "ada@example.com",
      returnTo: "/dashboard",
      adapter: "workos-magic-auth",
      kind: "challenge",
      state: "pat_1",
      expiresAt: clock() + 300_000,
    });
    expect(setCookie.startsWith(`${mfa.cookieName}=`)).toBe(true);
    expect(maxAgeOf(setCookie)).toBe(300);
    // Sealed: the pending authentication token is nowhere in the header.
    expect(setCookie).not.toContain("pat_1");
    expect(mfa.maxFailures).toBe(5);
  });

  it("keeps an SSO sign-in's domain match, and nothing when there is none", async () => {
    const { begin } = setup();
    const sso = await begin(undefined, { ...FROM, match: "domain" });
    expect(sso.pending.match).toBe("domain");
    expect("match" in (await begin()).pending).toBe(false);
  });

  it("is named __Host-mfa over HTTPS and mfa otherwise", () => {
    expect(setup({ secure: true }).mfa.cookieName).toBe("__Host-mfa");
    expect(setup({ secure: false }).mfa.cookieName).toBe("mfa");
  });

  it("lives at most 600 seconds (WorkOS's pending token lives ten minutes)", async () => {
    const { clock, begin } = setup({ ttlSeconds: 3600 });
    const { setCookie, pending } = await begin();
    expect(pending.expiresAt).toBe(clock() + 600_000);
    expect(maxAgeOf(setCookie)).toBe(600);
  });

  it("is refused by the server from its expiry on, whatever the browser keeps (S21's rule)", async () => {
    const { clock, mfa, begin } = setup();
    const { cookie } = await begin();
    clock.advance(300_000 - 1);
    expect(await mfa.read(request(cookie))).not.toBeNull();
    clock.advance(1);
    expect(await mfa.read(request(cookie))).toBeNull();
  });

  it("reads nothing from a request without it, or with a cookie that is not ours", async () => {
    const { mfa } = setup();
    expect(await mfa.read(new Request("http://localhost/"))).toBeNull();
    expect(await mfa.read(request("other=1"))).toBeNull();
    expect(await mfa.read(request("mfa=garbage"))).toBeNull();
  });

  it("a value sealed for another purpose, or with another secret, does not open (S19)", async () => {
    const { mfa, clock } = setup();
    const step = { id: "x", email: "a@example.com", state: "s", expiresAt: clock() + 60_000 };
    expect(await mfa.read(request(forged(step)))).not.toBeNull();
    expect(await mfa.read(request(forged(step, "pending-login")))).toBeNull();
    expect(await mfa.read(request(forged(step, "")))).toBeNull();
    const other = createSealedCookie({
      name: "mfa",
      secrets: [OTHER],
      purpose: "second-factor",
      secure: false,
    });
    expect(await mfa.read(request(cookieOf(other.serialize(JSON.stringify(step), 60))))).toBeNull();
  });

  it("a sealed value that is not a whole step is refused", async () => {
    const { mfa, clock } = setup();
    const whole = { id: "x", email: "a@example.com", state: "s", expiresAt: clock() + 60_000 };
    const read = (value: unknown) => mfa.read(request(forged(value)));
    expect(await read(whole)).toEqual(whole);
    expect(await read("not json")).toBeNull();
    expect(await read("null")).toBeNull();
    expect(await read({ ...whole, expiresAt: undefined })).toBeNull();
    expect(await read({ ...whole, expiresAt: String(whole.expiresAt) })).toBeNull();
    expect(await read({ ...whole, expiresAt: clock() })).toBeNull();
    expect(await read({ ...whole, state: undefined })).toBeNull();
    expect(await read({ ...whole, state: 1 })).toBeNull();
    expect(await read({ ...whole, email: undefined })).toBeNull();
  });

  it("clear removes it", async () => {
    const { mfa } = setup();
    expect(await mfa.clear()).toMatch(/^mfa=; Max-Age=0/);
  });
});

describe("the step's records in the store", () => {
  const ENROLL = { kind: "enroll" as const, state: "pat_e", enrollment: ENROLLMENT };

  it("an enrollment is kept sealed under the step's id, for the step's lifetime", async () => {
    const { clock, store, mfa, begin } = setup();
    const { pending } = await begin(ENROLL);
    expect(await mfa.enrollment(pending)).toEqual(ENROLLMENT);
    const [[key, value]] = store.dump() as [[string, string]];
    expect(key).toBe(`mfa:enrollment:${pending.id}`);
    // Sealed at rest, for this purpose: the factor's secret is not in the store.
    expect(value).not.toContain(ENROLLMENT.secret);
    const sealer = createSealer([SECRET], "second-factor-enrollment", 256 * 1024);
    expect(JSON.parse(sealer.open(value)!)).toEqual(ENROLLMENT);
    clock.advance(300_000 - 1);
    expect(await mfa.enrollment(pending)).toEqual(ENROLLMENT);
    clock.advance(1);
    expect(await mfa.enrollment(pending)).toBeNull();
  });

  it("a challenge has no enrollment, and writes nothing to the store", async () => {
    const { store, mfa, begin } = setup();
    const { pending } = await begin();
    expect(store.dump()).toEqual([]);
    expect(await mfa.enrollment(pending)).toBeNull();
  });

  it("each step has its own enrollment", async () => {
    const { mfa, begin } = setup();
    const a = await begin(ENROLL);
    const b = await begin({ ...ENROLL, enrollment: { qrCode: "data:b", secret: "B" } });
    expect(await mfa.enrollment(a.pending)).toEqual(ENROLLMENT);
    expect(await mfa.enrollment(b.pending)).toEqual({ qrCode: "data:b", secret: "B" });
  });

  it("an enrollment record that is not sealed, not JSON or not whole reads as none", async () => {
    const { store, mfa, begin } = setup();
    const { pending } = await begin(ENROLL);
    const key = `mfa:enrollment:${pending.id}`;
    const sealer = createSealer([SECRET], "second-factor-enrollment", 256 * 1024);
    const put = (value: string) => store.set(key, value, 60_000);
    for (const value of [
      JSON.stringify(ENROLLMENT),
      sealer.seal("not json"),
      sealer.seal("null"),
      sealer.seal(JSON.stringify({ ...ENROLLMENT, qrCode: undefined })),
      sealer.seal(JSON.stringify({ ...ENROLLMENT, qrCode: 1 })),
      sealer.seal(JSON.stringify({ ...ENROLLMENT, secret: undefined })),
    ]) {
      await put(value);
      expect(await mfa.enrollment(pending)).toBeNull();
    }
    // Extra fields are not handed on.
    await put(sealer.seal(JSON.stringify({ ...ENROLLMENT, extra: "x" })));
    expect(await mfa.enrollment(pending)).toEqual(ENROLLMENT);
  });

  it("wrong codes are counted per step, for as long as the step lives (S10)", async () => {
    const { clock, store, mfa, begin } = setup();
    const a = (await begin()).pending;
    const b = (await begin()).pending;
    expect(await mfa.failures(a)).toBe(0);
    expect(await mfa.recordFailure(a)).toBe(1);
    expect(await mfa.recordFailure(a)).toBe(2);
    expect(await mfa.failures(a)).toBe(2);
    expect(await mfa.failures(b)).toBe(0);
    expect(store.dump()).toEqual([[`mfa:failures:${a.id}`, "2"]]);
    // Counted from a later wrong code, the counter still dies with the step, not later.
    clock.advance(200_000);
    expect(await mfa.recordFailure(b)).toBe(1);
    clock.advance(100_000 - 1);
    expect([await mfa.failures(a), await mfa.failures(b)]).toEqual([2, 1]);
    clock.advance(1);
    expect([await mfa.failures(a), await mfa.failures(b)]).toEqual([0, 0]);
  });

  it("a wrong code counted at the step's last moment still counts", async () => {
    const { clock, mfa, begin } = setup();
    const { pending } = await begin();
    clock.advance(300_000);
    expect(await mfa.recordFailure(pending)).toBe(1);
  });

  it("finish forgets the enrollment and the wrong codes of that step only", async () => {
    const { store, mfa, begin } = setup();
    const done = (await begin(ENROLL)).pending;
    const other = (await begin(ENROLL)).pending;
    await mfa.recordFailure(done);
    await mfa.recordFailure(other);
    await mfa.finish(done);
    expect(await mfa.enrollment(done)).toBeNull();
    expect(await mfa.failures(done)).toBe(0);
    expect(store.dump().map(([key]) => key)).toEqual([
      `mfa:enrollment:${other.id}`,
      `mfa:failures:${other.id}`,
    ]);
  });
});
