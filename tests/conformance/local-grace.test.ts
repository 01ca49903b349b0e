import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createLocalAdapter } from "../../adapters/local";
import { createAdapter } from "../../adapters/registry";
import type { AuthAdapter } from "../../adapters/types";
import { parseConfig } from "../../app/config.server";
import { Outbox } from "../../app/mail/outbox.server";
import { MemoryStore } from "../../app/store/memory.server";
import { appEmailProof } from "./harnesses/outbox";

const TTL_SECONDS = 5;
const EMAIL = "late@example.com";

/** A local adapter on a MemoryStore with a hand-driven clock and no sweep timer. */
function setup(
  make: (deps: { store: MemoryStore; outbox: Outbox; clock: () => number }) => AuthAdapter,
) {
  let now = Date.UTC(2030, 0, 1);
  const clock = () => now;
  const store = new MemoryStore({ clock, sweepIntervalMs: 0 });
  const outbox = new Outbox();
  const adapter = make({ store, outbox, clock });
  const nonceHash = createHash("sha256").update(randomBytes(32)).digest("hex");
  return {
    store,
    adapter,
    advance(ms: number) {
      now += ms;
    },
    async start() {
      return adapter.start(EMAIL, {
        linkUrl: "https://app.example.com/auth/link",
        callbackUrl: "https://app.example.com/auth/callback",
        state: "state",
        nonceHash,
      });
    },
    /** The code from the email, tried in the browser that asked for it. */
    async verifyCode(ref: string) {
      const proof = appEmailProof(outbox, EMAIL, "code");
      if (!proof) throw new Error("no code was mailed");
      return adapter.verify(proof, { ref, nonceHash });
    },
  };
}

const local = (graceSeconds?: number) =>
  setup(({ store, outbox, clock }) =>
    createLocalAdapter({
      store,
      mailer: outbox,
      hashKey: randomBytes(32),
      clock,
      ttlSeconds: TTL_SECONDS,
      graceSeconds,
    }),
  );

const errorCode = (promise: Promise<unknown>) =>
  promise.then(
    () => "resolved",
    (error: { code?: string }) => error.code,
  );

describe("local adapter: LOGIN_GRACE", () => {
  it("with graceSeconds 0, a sign-in leaves nothing in the store after its TTL and a sweep", async () => {
    const app = local(0);
    const { ref } = await app.start();
    expect(app.store.size).toBeGreaterThan(0);
    app.advance(TTL_SECONDS * 1000 + 1);
    app.store.sweep();
    expect(app.store.size).toBe(0);
    expect(app.store.dump()).toEqual([]);
    // Nothing left to say "expired" with: a late code is simply not recognised.
    expect(await errorCode(app.verifyCode(ref))).toBe("invalid");
  });

  it("by default keeps the record 600 s past its TTL, so a late code hears 'expired'", async () => {
    const app = local();
    const { ref } = await app.start();
    app.advance(TTL_SECONDS * 1000 + 1);
    app.store.sweep();
    expect(app.store.size).toBeGreaterThan(0);
    expect(await errorCode(app.verifyCode(ref))).toBe("expired");
    // The late try's attempt counter was kept for TTL + grace from that try.
    app.advance(TTL_SECONDS * 1000 + 600_000);
    app.store.sweep();
    expect(app.store.size).toBe(0);
  });

  it("refuses a grace outside 0–600 seconds", () => {
    for (const graceSeconds of [-1, 601, 1.5]) {
      expect(() => local(graceSeconds)).toThrow(/LOGIN_GRACE/);
    }
  });

  it("the registry passes LOGIN_GRACE to the local adapter", async () => {
    const config = parseConfig({ LOGIN_TTL: String(TTL_SECONDS), LOGIN_GRACE: "0" });
    const app = setup(({ store, outbox, clock }) =>
      createAdapter({ config, store, mailer: outbox, clock, hashKey: randomBytes(32) }),
    );
    await app.start();
    expect(app.store.size).toBeGreaterThan(0);
    app.advance(TTL_SECONDS * 1000 + 1);
    app.store.sweep();
    expect(app.store.size).toBe(0);
  });
});
