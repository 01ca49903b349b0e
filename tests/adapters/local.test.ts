/**
 * The local adapter alone (the conformance suite covers its contract): the checks that only
 * show under concurrency or at their exact bounds, which answer each way of being gone gets,
 * and what the store holds.
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { isAuthError, type AuthError } from "../../adapters/errors";
import { createLocalAdapter, localAdapter, type LocalAdapterOptions } from "../../adapters/local";
import type { AuthAdapter, Identity, VerifyContext } from "../../adapters/types";
import { hmacHex, sha256Hex } from "../../app/lib/crypto.server";
import { Outbox } from "../../app/mail/outbox.server";
import { MemoryStore } from "../../app/store/memory.server";
import type { Store } from "../../app/store/types";
import { readEmail } from "../support/mail";

const NONCE = sha256Hex("the asking browser's nonce");
const EMAIL = "guess@example.com";

let store: MemoryStore;
afterEach(() => store?.close());

function setup(options: Partial<LocalAdapterOptions> & { wrap?: (s: Store) => Store } = {}) {
  let now = Date.UTC(2030, 0, 1);
  const clock = () => now;
  store = new MemoryStore({ clock, sweepIntervalMs: 0 });
  const memory = store;
  const outbox = new Outbox();
  const hashKey = randomBytes(32);
  const adapter = createLocalAdapter({
    store: options.wrap ? options.wrap(store) : store,
    mailer: outbox,
    hashKey,
    clock,
    ...options,
  });
  return {
    adapter,
    outbox,
    store: memory,
    hashKey,
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    async start(email = EMAIL, nonceHash = NONCE) {
      const result = await adapter.start(email, {
        linkUrl: "http://localhost/auth/link",
        callbackUrl: "http://localhost/auth/callback",
        state: "s",
        nonceHash,
      });
      const message = readEmail(outbox.latestTo(email)!);
      return { result, code: message.code!, token: message.token! };
    },
  };
}

const codeProof = (code: string, email = EMAIL) => ({ kind: "code" as const, email, code });
const wrong = (code: string, n = 0) => String((Number(code) + 1 + n) % 1_000_000).padStart(6, "0");

/** What a verify came to: the identity's email, or the AuthError code. */
async function outcome(adapter: AuthAdapter, ...args: Parameters<AuthAdapter["verify"]>) {
  return adapter.verify(...args).then(
    (identity: Identity) => `signed in as ${identity.email}`,
    (error: unknown) => (isAuthError(error) ? error.code : `thrown: ${String(error)}`),
  );
}

/** The AuthError a call ended with; fails the test when it succeeded or threw anything else. */
async function failureOf(promise: Promise<unknown>): Promise<AuthError> {
  const error = await promise.then(
    () => new Error("expected a failure"),
    (thrown: unknown) => thrown,
  );
  if (!isAuthError(error)) throw error;
  return error;
}

/**
 * A store whose replies to `increment` come back in the reverse order of the calls, as
 * replies from several app instances (or a slow network) may: the attempt counted sixth
 * can be the first to compare its code.
 */
function repliesOutOfOrder(inner: Store): Store {
  let calls = 0;
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property !== "increment") {
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      }
      return async (key: string, ttlMs: number) => {
        const count = await target.increment(key, ttlMs);
        const delay = Math.max(0, 60 - 10 * calls++);
        await new Promise((resolve) => setTimeout(resolve, delay));
        return count;
      };
    },
  });
}

describe("S10 parallel wrong-code guesses are capped at five", () => {
  it("the right code counted sixth is refused, even when it is the first to be compared", async () => {
    const local = setup({ wrap: repliesOutOfOrder });
    const { code, result } = await local.start();
    const context = { nonceHash: NONCE, ref: result.ref };
    const guesses = [0, 1, 2, 3, 4].map((n) =>
      outcome(local.adapter, codeProof(wrong(code, n)), context),
    );
    // Sent last, so counted sixth; its count comes back first.
    const right = outcome(local.adapter, codeProof(code), context);
    const results = await Promise.all([...guesses, right]);
    expect(results[5]).toBe("too_many_attempts");
    expect(results.filter((r) => r.startsWith("signed in"))).toEqual([]);
    // And the sign-in stays dead.
    expect(await outcome(local.adapter, codeProof(code), context)).toBe("too_many_attempts");
  });

  it("of 20 parallel guesses none gets past the five, and the right code is refused afterwards", async () => {
    const local = setup();
    const { code, result } = await local.start();
    const context = { nonceHash: NONCE, ref: result.ref };
    const errors = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        failureOf(local.adapter.verify(codeProof(wrong(code, n)), context)),
      ),
    );
    const answers = errors.map((error) => `${error.code}: ${error.message}`);
    expect(answers.filter((answer) => answer === "invalid: Wrong code")).toHaveLength(4);
    // The fifth ends the sign-in; the sixth and later are refused before being compared.
    expect(answers.filter((answer) => answer !== "invalid: Wrong code")).toEqual(
      Array(16).fill("too_many_attempts: Too many wrong codes"),
    );
    expect(await outcome(local.adapter, codeProof(code), context)).toBe("too_many_attempts");
  });

  it("the fifth wrong code ends the sign-in; the fourth does not", async () => {
    const local = setup();
    const { code, result } = await local.start();
    const context = { nonceHash: NONCE, ref: result.ref };
    for (let n = 0; n < 4; n++) {
      expect(await outcome(local.adapter, codeProof(wrong(code, n)), context)).toBe("invalid");
    }
    expect(await outcome(local.adapter, codeProof(code), context)).toBe(`signed in as ${EMAIL}`);
    const again = await local.start();
    context.ref = again.result.ref;
    for (let n = 0; n < 4; n++)
      await outcome(local.adapter, codeProof(wrong(again.code, n)), context);
    expect(await outcome(local.adapter, codeProof(wrong(again.code, 9)), context)).toBe(
      "too_many_attempts",
    );
    // The link of that sign-in died with it.
    expect(await outcome(local.adapter, { kind: "link", token: again.token }, context)).toBe(
      "too_many_attempts",
    );
  });

  it("maxAttempts is configurable", async () => {
    const local = setup({ maxAttempts: 2 });
    const { code, result } = await local.start();
    const context = { nonceHash: NONCE, ref: result.ref };
    expect(await outcome(local.adapter, codeProof(wrong(code)), context)).toBe("invalid");
    expect(await outcome(local.adapter, codeProof(wrong(code, 1)), context)).toBe(
      "too_many_attempts",
    );
  });
});

/**
 * The store, with each call recorded by method name, and `before[method]` run (once) before
 * the next call of that method: a way to make something happen between two steps of a verify.
 */
function observed(inner: Store, before: Partial<Record<keyof Store, () => Promise<void>>> = {}) {
  const calls: string[] = [];
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        calls.push(String(property));
        const hook = before[property as keyof Store];
        if (hook) {
          delete before[property as keyof Store];
          await hook();
        }
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
  return { store, calls, before };
}

/** An adapter on a store that lists the calls made to it, in order. */
function probed() {
  const probe = { calls: [] as string[] };
  const local = setup({
    wrap: (inner) => {
      const o = observed(inner);
      probe.calls = o.calls;
      return o.store;
    },
  });
  return { local, probe };
}

const OTHER_NONCE = sha256Hex("another browser's nonce");

describe("configuration", () => {
  it("LOGIN_TTL must be 1–900 seconds (S2); both ends are accepted", () => {
    for (const ttlSeconds of [0, -1, 901]) {
      let thrown: unknown;
      try {
        setup({ ttlSeconds });
      } catch (error) {
        thrown = error;
      }
      expect(isAuthError(thrown) && thrown.code, String(ttlSeconds)).toBe("misconfigured");
      expect((thrown as Error).message).toMatch(/LOGIN_TTL must be between 1 and 900/);
    }
    expect(() => setup({ ttlSeconds: 1 })).not.toThrow();
    expect(() => setup({ ttlSeconds: 900 })).not.toThrow();
  });

  it("a LOGIN_GRACE outside 0–600 is misconfigured", () => {
    expect(() => setup({ graceSeconds: 601 })).toThrow(
      expect.objectContaining({ code: "misconfigured" }),
    );
  });

  it("names itself local, delivers a link and a code, and mails them itself", () => {
    const { adapter } = setup();
    expect(adapter.name).toBe("local");
    expect(adapter.delivers).toEqual({ link: true, code: true });
    expect(localAdapter.sendsMail({})).toBe(true);
  });
});

describe("start", () => {
  it("says both were delivered, in one email that names the app and the lifetime in minutes", async () => {
    const local = setup({ ttlSeconds: 90 });
    const { result } = await local.start();
    expect(result).toEqual({
      delivered: { link: true, code: true },
      ref: expect.any(String),
      adapter: "local",
    });
    const message = readEmail(local.outbox.latestTo(EMAIL)!);
    expect(message.subject).toBe("Sign in to the app");
    // 90 s rounds up: the email never promises more time than there is.
    expect(message.text).toContain("expire in 2 minutes");
    const named = setup({ appName: "Acme" });
    await named.start();
    expect(readEmail(named.outbox.latestTo(EMAIL)!).subject).toBe("Sign in to Acme");
  });

  it("a mailer failure is unavailable with the mailer's error as its cause, and leaves no record", async () => {
    const refused = new Error("SMTP 421");
    const local = setup({
      mailer: {
        send: async () => {
          throw refused;
        },
      },
    });
    const error = await failureOf(local.start());
    expect(error.code).toBe("unavailable");
    expect(error.message).toMatch(/could not be sent/);
    expect(error.cause).toBe(refused);
  });

  it("a store failure is unavailable with the store's error as its cause", async () => {
    const local = setup();
    const broken = new Error("EIO");
    // The record and its link's index are written in one step.
    store.setMany = async () => {
      throw broken;
    };
    const error = await failureOf(local.start());
    expect(error.code).toBe("unavailable");
    expect(error.message).toMatch(/store failed/);
    expect(error.cause).toBe(broken);
  });
});

describe("S5 the store holds keyed hashes only, under keys fixed across releases", () => {
  it("keys and values name neither the address, the token nor the code", async () => {
    const local = setup();
    const { code, token, result } = await local.start();
    const key = local.hashKey;
    const emailKey = `login:email:${hmacHex(key, `email:${EMAIL}`)}`;
    const tokenKey = `login:token:${hmacHex(key, `token:${token}`)}`;
    const entries = new Map(local.store.dump());
    expect([...entries.keys()].sort()).toEqual([emailKey, tokenKey].sort());
    expect(JSON.parse(entries.get(emailKey)!)).toEqual({
      id: result.ref,
      email: EMAIL,
      token: hmacHex(key, `token:${token}`),
      code: hmacHex(key, `code:${result.ref}:${code}`),
      nonce: NONCE,
      expiresAt: local.now() + 600_000,
    });
    expect(JSON.parse(entries.get(tokenKey)!)).toEqual({ emailKey, recordId: result.ref });
    for (const [k, v] of entries) {
      expect(`${k} ${v}`).not.toContain(token);
      expect(`${k} ${v}`).not.toContain(`"${code}"`);
    }
    // A wrong try is counted under the record's id; a used sign-in is marked under it.
    const context = { nonceHash: NONCE, ref: result.ref };
    await outcome(local.adapter, codeProof(wrong(code)), context);
    expect(local.store.dump().find(([k]) => k === `login:tries:${result.ref}`)?.[1]).toBe("1");
    await local.adapter.verify(codeProof(code), context);
    expect(local.store.dump().find(([k]) => k === `login:gone:${result.ref}`)?.[1]).toBe("used");
  });

  it("the identity id is the keyed hash of the address, 32 hex digits after local_", async () => {
    const local = setup();
    const { code, result } = await local.start();
    const identity = await local.adapter.verify(codeProof(code), {
      nonceHash: NONCE,
      ref: result.ref,
    });
    expect(identity).toEqual({
      id: `local_${hmacHex(local.hashKey, `user:${EMAIL}`).slice(0, 32)}`,
      email: EMAIL,
      adapter: "local",
    });
  });
});

describe("links: the answer for each way a link can fail", () => {
  const linkProof = (token: string) => ({ kind: "link" as const, token });

  it("an empty or overlong token is refused without asking the store; 200 characters are looked up", async () => {
    const { local, probe } = probed();
    const context = { nonceHash: NONCE };
    for (const token of ["", "x".repeat(201), "x".repeat(10_000)]) {
      const error = await failureOf(local.adapter.verify(linkProof(token), context));
      expect([error.code, error.message]).toEqual(["invalid", "Malformed link"]);
    }
    expect(probe.calls).toEqual([]);
    const error = await failureOf(local.adapter.verify(linkProof("x".repeat(200)), context));
    expect([error.code, error.message]).toEqual(["invalid", "Unknown link"]);
    expect(probe.calls).toEqual(["get"]);
  });

  it("an unknown link while this browser's own sign-in is pending is invalid", async () => {
    const local = setup();
    const { result } = await local.start();
    const context = { nonceHash: NONCE, ref: result.ref, email: EMAIL };
    const error = await failureOf(local.adapter.verify(linkProof("no-such-token"), context));
    expect([error.code, error.message]).toEqual(["invalid", "Unknown link"]);
  });

  it("an unknown link once this browser's own sign-in is gone says expired, or used once used", async () => {
    const local = setup({ graceSeconds: 0 });
    const { result, token } = await local.start();
    const context = { nonceHash: NONCE, ref: result.ref, email: EMAIL };
    local.advance(600_001);
    local.store.sweep();
    // The store no longer knows the token: most likely this sign-in's own link.
    const error = await failureOf(local.adapter.verify(linkProof(token), context));
    expect([error.code, error.message]).toEqual([
      "expired",
      "This browser's sign-in is no longer pending",
    ]);
    // Without the address or the ref in the cookie nothing says whose link it was.
    expect(await outcome(local.adapter, linkProof(token), { nonceHash: NONCE })).toBe("invalid");

    const again = await local.start();
    const mine = { nonceHash: NONCE, ref: again.result.ref, email: EMAIL };
    await local.adapter.verify(linkProof(again.token), mine);
    const used = await failureOf(local.adapter.verify(linkProof("no-such-token"), mine));
    expect([used.code, used.message]).toEqual(["used", "This sign-in was already used"]);
  });

  it("a superseded link is expired in the browser whose cookie still names it, invalid elsewhere (S4)", async () => {
    const local = setup();
    const older = await local.start();
    const newer = await local.start(EMAIL, OTHER_NONCE);
    // The first browser's cookie still names the older sign-in: it was replaced, not wrong.
    const first = { nonceHash: NONCE, ref: older.result.ref, email: EMAIL };
    expect(await outcome(local.adapter, linkProof(older.token), first)).toBe("expired");
    // The browser holding the newer sign-in is told the old link is not one it can use.
    const second = { nonceHash: OTHER_NONCE, ref: newer.result.ref, email: EMAIL };
    const error = await failureOf(local.adapter.verify(linkProof(older.token), second));
    expect([error.code, error.message]).toEqual(["invalid", "No pending sign-in matches"]);
    expect(await outcome(local.adapter, linkProof(newer.token), second)).toBe(
      `signed in as ${EMAIL}`,
    );
  });

  it("another browser's confirmation says so (S8)", async () => {
    const local = setup();
    const { token } = await local.start();
    const error = await failureOf(
      local.adapter.verify(linkProof(token), { nonceHash: OTHER_NONCE }),
    );
    expect([error.code, error.message]).toEqual([
      "not_same_browser",
      "Confirmed from another browser",
    ]);
  });
});

describe("codes: the answer for each way a code can fail", () => {
  it("malformed codes are refused without counting against the five (S10)", async () => {
    const local = setup();
    const { code, result } = await local.start();
    const context = { nonceHash: NONCE, ref: result.ref, email: EMAIL };
    const malformed = ["abcdef", `${code}7`, `7${code}`, `${code}a`, `a${code}`, "12345"];
    // Twelve tries in all: more than five, had any of them been counted.
    for (const value of [...malformed, ...malformed]) {
      const error = await failureOf(local.adapter.verify(codeProof(value), context));
      expect([error.code, error.message], value).toEqual(["invalid", "A code is six digits"]);
    }
    expect(await outcome(local.adapter, codeProof(code), context)).toBe(`signed in as ${EMAIL}`);
  });

  it("spaces around a pasted code are ignored", async () => {
    const local = setup();
    const { code, result } = await local.start();
    expect(
      await outcome(local.adapter, codeProof(` ${code}\n`), { nonceHash: NONCE, ref: result.ref }),
    ).toBe(`signed in as ${EMAIL}`);
  });

  it("in the browser that asked, with its address and ref, the code signs in", async () => {
    const local = setup();
    const { code, result } = await local.start();
    const context = { nonceHash: NONCE, ref: result.ref, email: EMAIL };
    expect(await outcome(local.adapter, codeProof(code), context)).toBe(`signed in as ${EMAIL}`);
  });

  it("a code in another browser, or with no pending cookie, is refused and not counted (S8)", async () => {
    const local = setup();
    const { code, result } = await local.start();
    for (let i = 0; i < 6; i++) {
      for (const nonceHash of [OTHER_NONCE, undefined]) {
        const error = await failureOf(
          local.adapter.verify(codeProof(code), { nonceHash, ref: result.ref }),
        );
        expect([error.code, error.message]).toEqual([
          "not_same_browser",
          "The code was requested in another browser",
        ]);
      }
    }
    const context = { nonceHash: NONCE, ref: result.ref, email: EMAIL };
    expect(await outcome(local.adapter, codeProof(code), context)).toBe(`signed in as ${EMAIL}`);
  });

  it("this browser's sign-in replaced from another browser says expired, not another browser", async () => {
    const local = setup();
    const mine = await local.start();
    const theirs = await local.start(EMAIL, OTHER_NONCE);
    const context = { nonceHash: NONCE, ref: mine.result.ref, email: EMAIL };
    const error = await failureOf(local.adapter.verify(codeProof(mine.code), context));
    expect([error.code, error.message]).toEqual([
      "expired",
      "This browser's sign-in is no longer pending",
    ]);
    // The other browser's sign-in is untouched.
    expect(
      await outcome(local.adapter, codeProof(theirs.code), {
        nonceHash: OTHER_NONCE,
        ref: theirs.result.ref,
        email: EMAIL,
      }),
    ).toBe(`signed in as ${EMAIL}`);
  });

  it("a code for an address the pending cookie does not name is checked against that address's own sign-in", async () => {
    const local = setup();
    const { code } = await local.start();
    const other = await local.start("other@example.com");
    // The cookie names another sign-in of this browser: the code is not "mine", so the
    // record for its address decides, and the ref of the other one does not refuse it.
    const context = { nonceHash: NONCE, ref: other.result.ref, email: "other@example.com" };
    expect(await outcome(local.adapter, codeProof(code), context)).toBe(`signed in as ${EMAIL}`);
  });

  it("a code for an address with no pending sign-in is invalid", async () => {
    const local = setup();
    const error = await failureOf(
      local.adapter.verify(codeProof("123456", "nobody@example.com"), { nonceHash: NONCE }),
    );
    expect([error.code, error.message]).toEqual(["invalid", "No pending sign-in matches"]);
  });

  it("wrong codes say so, the fifth ends the sign-in, and the sixth try is refused before comparing", async () => {
    const local = setup();
    const { code, result } = await local.start();
    const context = { nonceHash: NONCE, ref: result.ref };
    for (let n = 0; n < 4; n++) {
      const error = await failureOf(local.adapter.verify(codeProof(wrong(code, n)), context));
      expect([error.code, error.message]).toEqual(["invalid", "Wrong code"]);
    }
    const fifth = await failureOf(local.adapter.verify(codeProof(wrong(code, 4)), context));
    expect([fifth.code, fifth.message]).toEqual(["too_many_attempts", "Too many wrong codes"]);
    const sixth = await failureOf(local.adapter.verify(codeProof(code), context));
    expect([sixth.code, sixth.message]).toEqual(["too_many_attempts", "Too many wrong codes"]);
  });

  it("a callback proof is not one this adapter issues", async () => {
    const local = setup();
    const error = await failureOf(
      local.adapter.verify({ kind: "callback", code: "c" }, { nonceHash: NONCE }),
    );
    expect([error.code, error.message]).toEqual([
      "invalid",
      "This adapter issues no callback codes",
    ]);
  });

  it("a store failure is unavailable with the store's error as its cause", async () => {
    const local = setup();
    const { code, result } = await local.start();
    const broken = new Error("EIO");
    store.get = async () => {
      throw broken;
    };
    const error = await failureOf(
      local.adapter.verify(codeProof(code), { nonceHash: NONCE, ref: result.ref }),
    );
    expect([error.code, error.message]).toEqual(["unavailable", "The sign-in store failed"]);
    expect(error.cause).toBe(broken);
  });
});

describe("S2 a link and a code work until the very millisecond they expire", () => {
  for (const [kind, message] of [
    ["link", "The link has expired"],
    ["code", "The code has expired"],
  ] as const) {
    it(`a ${kind} at its expiry signs in; a millisecond later it is expired`, async () => {
      const local = setup();
      const proofOf = (sent: { code: string; token: string }) =>
        kind === "link" ? { kind, token: sent.token } : codeProof(sent.code);
      const first = await local.start();
      local.advance(600_000);
      expect(
        await outcome(local.adapter, proofOf(first), { nonceHash: NONCE, ref: first.result.ref }),
      ).toBe(`signed in as ${EMAIL}`);
      const later = await local.start();
      local.advance(600_001);
      const error = await failureOf(
        local.adapter.verify(proofOf(later), { nonceHash: NONCE, ref: later.result.ref }),
      );
      expect([error.code, error.message]).toEqual(["expired", message]);
    });
  }
});

describe("S3 S10 the store steps of a code check", () => {
  it("a right code: one read, the try counted, then consumed and marked used in one step", async () => {
    const { local, probe } = probed();
    const { code, result } = await local.start();
    probe.calls.length = 0;
    const context: VerifyContext = { nonceHash: NONCE, ref: result.ref };
    expect(await outcome(local.adapter, codeProof(code), context)).toBe(`signed in as ${EMAIL}`);
    expect(probe.calls).toEqual(["get", "increment", "swap"]);
    const again = await failureOf(local.adapter.verify(codeProof(code), context));
    expect(again.code).toBe("used");
  });

  it("the last wrong try: the record dies and says why in one step", async () => {
    const { local, probe } = probed();
    const { code, result } = await local.start();
    const wrong = code === "000000" ? "111111" : "000000";
    const context: VerifyContext = { nonceHash: NONCE, ref: result.ref };
    for (let i = 1; i < 5; i++) await failureOf(local.adapter.verify(codeProof(wrong), context));
    probe.calls.length = 0;
    const last = await failureOf(local.adapter.verify(codeProof(wrong), context));
    expect(last.code).toBe("too_many_attempts");
    expect(probe.calls).toEqual(["get", "increment", "swap"]);
    // Even the right code is refused now, and the reason stays "too many" (S10).
    const after = await failureOf(local.adapter.verify(codeProof(code), context));
    expect(after.code).toBe("too_many_attempts");
    expect(probe.calls.slice(3)).toEqual(["get", "get"]);
  });
});

describe("S3/S4 a sign-in replaced while its code is being checked", () => {
  it("is refused, and the newer sign-in is left untouched, usable for its own lifetime", async () => {
    const hooks: Partial<Record<keyof Store, () => Promise<void>>> = {};
    const local = setup({ wrap: (inner) => observed(inner, hooks).store });
    const older = await local.start();
    let newer: Awaited<ReturnType<typeof local.start>> | undefined;
    // Between the check of the older code and its consumption, the address asks again.
    hooks.swap = async () => {
      newer = await local.start(EMAIL, OTHER_NONCE);
    };
    const error = await failureOf(
      local.adapter.verify(codeProof(older.code), { nonceHash: NONCE, ref: older.result.ref }),
    );
    expect([error.code, error.message]).toEqual(["invalid", "No pending sign-in matches"]);
    // The consumption compares the record as read: the newer one is never taken out, and
    // stays usable near its end.
    local.advance(599_000);
    const context: VerifyContext = { nonceHash: OTHER_NONCE, ref: newer!.result.ref };
    expect(await outcome(local.adapter, codeProof(newer!.code), context)).toBe(
      `signed in as ${EMAIL}`,
    );
  });

  it("leaves the newer sign-in its own expiry plus the grace, no longer", async () => {
    const hooks: Partial<Record<keyof Store, () => Promise<void>>> = {};
    const local = setup({ graceSeconds: 0, wrap: (inner) => observed(inner, hooks).store });
    const older = await local.start();
    hooks.swap = async () => {
      local.advance(1_000);
      await local.start(EMAIL, OTHER_NONCE);
    };
    await failureOf(
      local.adapter.verify(codeProof(older.code), { nonceHash: NONCE, ref: older.result.ref }),
    );
    const emailKey = `login:email:${hmacHex(local.hashKey, `email:${EMAIL}`)}`;
    local.advance(599_999);
    local.store.sweep();
    expect(local.store.dump().map(([k]) => k)).toContain(emailKey);
    local.advance(2);
    local.store.sweep();
    expect(local.store.dump().map(([k]) => k)).not.toContain(emailKey);
  });
});
