/**
 * The adapter conformance suite: the obligations of adapters/types.ts as tests. Every
 * adapter runs it (the local one, the WorkOS ones, the fallback combinator, a team's own):
 *
 * ```ts
 * runAdapterConformance({ name: "my-adapter", proofKinds: ["code"], ttlMs: 600_000,
 *   bindsLinkToBrowser: false, setup: async () => ({ adapter, proof, advance }) });
 * ```
 *
 * Each test gets a fresh subject from `setup()` and uses the same addresses, so state left
 * over from another test would show up as a failure.
 */
import { createHash, randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isAuthError, type AuthErrorCode } from "../../adapters/errors";
import type {
  AuthAdapter,
  Identity,
  Proof,
  StartContext,
  StartResult,
  VerifyContext,
} from "../../adapters/types";

export type ProofKind = Proof["kind"];

/** One adapter with fresh state, built for one test. */
export interface ConformanceSubject {
  adapter: AuthAdapter;
  /**
   * The proof of the newest delivery to `email` in the given kind (read from the outbox,
   * the provider's recorded email, or by following a provider link), or undefined when
   * nothing was delivered. Called once per delivery: following a provider's link may
   * consume it.
   */
  proof(email: string, kind: ProofKind): Promise<Proof | undefined>;
  /** Move every clock the adapter and its provider use forward. */
  advance(ms: number): void;
  /** Make the adapter's backend (provider API, store or mailer) fail from now on. */
  breakProvider(): void;
  /** Release what setup() made. */
  teardown?(): Promise<void>;
}

export interface ConformanceHarness {
  /** Shown in test names. */
  name: string;
  /** The proof kinds a delivery can be redeemed with (local: link and code). */
  proofKinds: readonly ProofKind[];
  /** How long a proof stays valid, ms (after the proof was obtained). */
  ttlMs: number;
  /**
   * True when the adapter binds a link to the starting browser through
   * `context.nonceHash` (S8): a different nonceHash at verify gives `not_same_browser`.
   */
  bindsLinkToBrowser: boolean;
  /** Called before each test. */
  setup(): Promise<ConformanceSubject>;
}

const ADA = "ada@example.com";
const BOB = "bob@example.com";

const nonceHash = () => createHash("sha256").update(randomBytes(32)).digest("hex");

/** The pending sign-in as the strategy keeps it: the context to verify with. */
interface Pending {
  started: StartResult;
  context: VerifyContext;
}

async function settledCode(
  promise: Promise<unknown>,
): Promise<AuthErrorCode | "ok" | "not an AuthError"> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    return isAuthError(error) ? error.code : "not an AuthError";
  }
}

function wrongProof(proof: Proof): Proof {
  switch (proof.kind) {
    case "code":
      return { ...proof, code: String((Number(proof.code) + 1) % 1_000_000).padStart(6, "0") };
    case "link":
      return { kind: "link", token: randomBytes(32).toString("base64url") };
    case "callback":
      return { kind: "callback", code: randomBytes(20).toString("base64url") };
  }
}

/** Register the suite for one adapter (call at the top level of a *.test.ts file). */
export function runAdapterConformance(harness: ConformanceHarness): void {
  describe(`adapter conformance: ${harness.name}`, () => {
    let subject: ConformanceSubject;

    beforeEach(async () => {
      subject = await harness.setup();
    });
    afterEach(async () => {
      await subject.teardown?.();
    });

    async function start(email: string): Promise<Pending> {
      const context: StartContext = {
        linkUrl: "http://app.test/auth/link",
        callbackUrl: "http://app.test/auth/callback",
        state: randomBytes(16).toString("base64url"),
        nonceHash: nonceHash(),
        ip: "192.0.2.1",
        userAgent: "conformance",
      };
      const started = await subject.adapter.start(email, context);
      return {
        started,
        context: {
          ref: started.ref,
          adapter: started.adapter,
          nonceHash: context.nonceHash,
          ip: context.ip,
          userAgent: context.userAgent,
        },
      };
    }

    async function proofFor(email: string, kind: ProofKind): Promise<Proof> {
      const proof = await subject.proof(email, kind);
      if (!proof) throw new Error(`nothing was delivered to ${email}`);
      return proof;
    }

    it("start says what it delivered and returns a reference", async () => {
      const { started } = await start(ADA);
      expect(started.delivered.link || started.delivered.code).toBe(true);
      expect(typeof started.ref).toBe("string");
      expect(started.ref.length).toBeGreaterThan(0);
      expect(typeof started.adapter).toBe("string");
    });

    for (const kind of harness.proofKinds) {
      describe(`with a ${kind} proof`, () => {
        it("deliver → verify gives the identity of that address", async () => {
          const pending = await start(ADA);
          const identity = await subject.adapter.verify(await proofFor(ADA, kind), pending.context);
          expect(identity.email).toBe(ADA);
          expect(identity.id).toBeTruthy();
          expect(identity.adapter).toBe(pending.started.adapter);
        });

        it("the identity id is stable across two sign-ins and differs between addresses", async () => {
          const first = await start(ADA);
          const one = await subject.adapter.verify(await proofFor(ADA, kind), first.context);
          const second = await start(ADA);
          const two = await subject.adapter.verify(await proofFor(ADA, kind), second.context);
          const third = await start(BOB);
          const other = await subject.adapter.verify(await proofFor(BOB, kind), third.context);
          expect(two.id).toBe(one.id);
          expect(other.id).not.toBe(one.id);
        });

        it("a proof works once: the second verify fails as used or invalid", async () => {
          const pending = await start(ADA);
          const proof = await proofFor(ADA, kind);
          await subject.adapter.verify(proof, pending.context);
          expect(["used", "invalid"]).toContain(
            await settledCode(subject.adapter.verify(proof, pending.context)),
          );
        });

        it("concurrent redemptions of one proof give exactly one identity (S3)", async () => {
          const pending = await start(ADA);
          const proof = await proofFor(ADA, kind);
          const results = await Promise.allSettled(
            Array.from({ length: 5 }, () => subject.adapter.verify(proof, pending.context)),
          );
          const won = results.filter(
            (r): r is PromiseFulfilledResult<Identity> => r.status === "fulfilled",
          );
          expect(won).toHaveLength(1);
          for (const result of results) {
            if (result.status === "rejected") {
              expect(isAuthError(result.reason)).toBe(true);
              expect(["used", "invalid"]).toContain((result.reason as { code: string }).code);
            }
          }
        });

        it("a proof is still accepted just before its lifetime ends (S2)", async () => {
          const pending = await start(ADA);
          const proof = await proofFor(ADA, kind);
          subject.advance(harness.ttlMs - 1_000);
          const identity = await subject.adapter.verify(proof, pending.context);
          expect(identity.email).toBe(ADA);
        });

        it("a proof past its lifetime is refused as expired (or invalid) (S2)", async () => {
          const pending = await start(ADA);
          const proof = await proofFor(ADA, kind);
          subject.advance(harness.ttlMs + 1_000);
          expect(["expired", "invalid"]).toContain(
            await settledCode(subject.adapter.verify(proof, pending.context)),
          );
        });

        it("a wrong proof is refused as invalid and leaves the right one usable", async () => {
          const pending = await start(ADA);
          const proof = await proofFor(ADA, kind);
          expect(
            await settledCode(subject.adapter.verify(wrongProof(proof), pending.context)),
          ).toBe("invalid");
          const identity = await subject.adapter.verify(proof, pending.context);
          expect(identity.email).toBe(ADA);
        });

        if (kind === "code") {
          it("a code used with another address is refused as invalid", async () => {
            const ada = await start(ADA);
            const adaProof = await proofFor(ADA, "code");
            let bob = await start(BOB);
            let bobProof = await proofFor(BOB, "code");
            // One chance in a million that both got the same code; ask again then.
            while (
              bobProof.kind === "code" &&
              adaProof.kind === "code" &&
              bobProof.code === adaProof.code
            ) {
              bob = await start(BOB);
              bobProof = await proofFor(BOB, "code");
            }
            const crossed = { ...adaProof, email: BOB } as Proof;
            expect(await settledCode(subject.adapter.verify(crossed, bob.context))).toBe("invalid");
            expect((await subject.adapter.verify(adaProof, ada.context)).email).toBe(ADA);
          });
        }

        if (kind === "link" && harness.bindsLinkToBrowser) {
          it("a link confirmed in another browser is refused as not_same_browser and stays usable (S8)", async () => {
            const pending = await start(ADA);
            const proof = await proofFor(ADA, "link");
            const elsewhere = { ...pending.context, nonceHash: nonceHash() };
            expect(await settledCode(subject.adapter.verify(proof, elsewhere))).toBe(
              "not_same_browser",
            );
            const noCookie = { ...pending.context, nonceHash: undefined };
            expect(await settledCode(subject.adapter.verify(proof, noCookie))).toBe(
              "not_same_browser",
            );
            expect((await subject.adapter.verify(proof, pending.context)).email).toBe(ADA);
          });
        }
      });
    }

    it("malformed proofs of every kind are refused with AuthErrors only", async () => {
      const pending = await start(ADA);
      const junk = [
        "",
        " ",
        "x".repeat(10_000),
        "../../etc/passwd",
        "💥",
        "%00",
        "12345",
        "1234567",
        "abcdef",
      ];
      const proofs: Proof[] = junk.flatMap((value) => [
        { kind: "link", token: value },
        { kind: "callback", code: value },
        { kind: "code", email: ADA, code: value },
        { kind: "code", email: value, code: "123456" },
      ]);
      for (const proof of proofs) {
        const outcome = await settledCode(subject.adapter.verify(proof, pending.context));
        expect(outcome, JSON.stringify(proof).slice(0, 80)).not.toBe("ok");
        expect(outcome, JSON.stringify(proof).slice(0, 80)).not.toBe("not an AuthError");
      }
    });

    it("a backend failure at start surfaces as unavailable, nothing else", async () => {
      subject.breakProvider();
      expect(await settledCode(start(ADA))).toBe("unavailable");
    });

    it("state is fresh: nothing from another test was delivered", async () => {
      for (const kind of harness.proofKinds) {
        expect(await subject.proof(ADA, kind)).toBeUndefined();
        expect(await subject.proof(BOB, kind)).toBeUndefined();
      }
    });
  });
}
