/**
 * The adapter conformance suite: the obligations of adapters/types.ts as tests. Every
 * adapter runs it (the local one, the WorkOS ones, the fallback combinator, a team's own):
 *
 * ```ts
 * runAdapterConformance({ name: "my-adapter", proofKinds: ["code"], ttlMs: 600_000,
 *   bindsLinkToBrowser: false, maxCodeAttempts: 5, supersedes: true, hasProvider: false,
 *   setup: async () => ({ adapter, proof, advance, breakProvider }) });
 * ```
 *
 * Each test gets a fresh subject from `setup()` and uses the same addresses, so state left
 * over from another test would show up as a failure. The checks are plain functions
 * ({@link conformanceChecks}) so that {@link failedChecks} can run them against the
 * deliberately broken adapters of tests/conformance/broken and show that each one fails.
 */
import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { isAuthError, type AuthError, type AuthErrorCode } from "../../adapters/errors";
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
  /**
   * Make the provider answer HTTP 429 with `Retry-After: seconds` from now on. Required
   * when the harness says `hasProvider`.
   */
  rateLimitProvider?(seconds: number): void;
  /**
   * More ways for the backend to fail from now on, by name (a 503, a body that is not
   * JSON, a store that throws, a mailer that throws a string…). Together with
   * `breakProvider`, nothing but an AuthError may come out of the adapter under any of them.
   */
  faults?: Record<string, () => void>;
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
  /**
   * Wrong codes the adapter answers before the code dies: the next answer, and every one
   * after it, is `too_many_attempts`, even for the right code (S10: at most 5). Required
   * when `proofKinds` has "code".
   */
  maxCodeAttempts?: number;
  /**
   * True when a newer `start` for the same address makes the older proofs useless (S4).
   * False only where the provider gives no way to (say why in the harness).
   */
  supersedes: boolean;
  /**
   * True when the adapter asks a provider over the network (WorkOS, BlockID), which may
   * answer 429; its subjects then give `rateLimitProvider`. The local adapter has none.
   */
  hasProvider: boolean;
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

/** What a check works with: its fresh subject and the steps every check takes. */
interface Tools {
  subject: ConformanceSubject;
  adapter: AuthAdapter;
  /** Start a sign-in as the strategy does, with a fresh pending-login nonce. */
  start(email: string): Promise<Pending>;
  /** The proof of the newest delivery; fails the check when nothing was delivered. */
  proofFor(email: string, kind: ProofKind): Promise<Proof>;
}

function toolsFor(subject: ConformanceSubject): Tools {
  return {
    subject,
    adapter: subject.adapter,
    async start(email) {
      const context: StartContext = startContext();
      const started = await subject.adapter.start(email, context);
      return { started, context: verifyContext(started, context) };
    },
    async proofFor(email, kind) {
      const proof = await subject.proof(email, kind);
      if (!proof) throw new Error(`nothing was delivered to ${email}`);
      return proof;
    },
  };
}

function startContext(): StartContext {
  return {
    linkUrl: "http://app.test/auth/link",
    callbackUrl: "http://app.test/auth/callback",
    state: randomBytes(16).toString("base64url"),
    nonceHash: nonceHash(),
    ip: "192.0.2.1",
    userAgent: "conformance",
  };
}

/** The context the strategy verifies with: what the pending-login cookie kept of `start`. */
function verifyContext(started: StartResult, context: StartContext): VerifyContext {
  return {
    ref: started.ref,
    adapter: started.adapter,
    nonceHash: context.nonceHash,
    ip: context.ip,
    userAgent: context.userAgent,
  };
}

/** The error a call ended with (undefined when it succeeded). */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error;
  }
}

/** One obligation of adapters/types.ts, checked against a fresh subject. */
export interface ConformanceCheck {
  /** The describe block it belongs to ("with a code proof"), if any. */
  group?: string;
  name: string;
  run(subject: ConformanceSubject): Promise<void>;
}

/** "with a code proof › a proof works once…": how {@link failedChecks} names a check. */
export function checkName(check: Pick<ConformanceCheck, "group" | "name">): string {
  return check.group ? `${check.group} › ${check.name}` : check.name;
}

/** Every check the suite runs for `harness`, in order. */
export function conformanceChecks(harness: ConformanceHarness): ConformanceCheck[] {
  if (harness.proofKinds.includes("code") && harness.maxCodeAttempts === undefined) {
    throw new Error(`${harness.name}: a harness with code proofs states maxCodeAttempts`);
  }
  const checks: ConformanceCheck[] = [];
  let group: string | undefined;
  const check = (name: string, run: (tools: Tools) => Promise<void>) => {
    checks.push({ group, name, run: (subject) => run(toolsFor(subject)) });
  };

  check("start says what it delivered and returns a reference", async ({ start }) => {
    const { started } = await start(ADA);
    expect(started.delivered.link || started.delivered.code).toBe(true);
    expect(typeof started.ref).toBe("string");
    expect(started.ref.length).toBeGreaterThan(0);
    expect(typeof started.adapter).toBe("string");
  });

  for (const kind of harness.proofKinds) {
    group = `with a ${kind} proof`;

    check("deliver → verify gives the identity of that address", async (t) => {
      const pending = await t.start(ADA);
      const identity = await t.adapter.verify(await t.proofFor(ADA, kind), pending.context);
      expect(identity.email).toBe(ADA);
      expect(identity.id).toBeTruthy();
      expect(identity.adapter).toBe(pending.started.adapter);
    });

    check(
      "the identity id is stable across two sign-ins and differs between addresses",
      async (t) => {
        const first = await t.start(ADA);
        const one = await t.adapter.verify(await t.proofFor(ADA, kind), first.context);
        const second = await t.start(ADA);
        const two = await t.adapter.verify(await t.proofFor(ADA, kind), second.context);
        const third = await t.start(BOB);
        const other = await t.adapter.verify(await t.proofFor(BOB, kind), third.context);
        expect(two.id).toBe(one.id);
        expect(other.id).not.toBe(one.id);
      },
    );

    check("a proof works once: the second verify fails as used or invalid", async (t) => {
      const pending = await t.start(ADA);
      const proof = await t.proofFor(ADA, kind);
      await t.adapter.verify(proof, pending.context);
      expect(["used", "invalid"]).toContain(
        await settledCode(t.adapter.verify(proof, pending.context)),
      );
    });

    check("concurrent redemptions of one proof give exactly one identity (S3)", async (t) => {
      const pending = await t.start(ADA);
      const proof = await t.proofFor(ADA, kind);
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, () => t.adapter.verify(proof, pending.context)),
      );
      expectOneWinner(results);
    });

    check("a proof is still accepted just before its lifetime ends (S2)", async (t) => {
      const pending = await t.start(ADA);
      const proof = await t.proofFor(ADA, kind);
      t.subject.advance(harness.ttlMs - 1_000);
      const identity = await t.adapter.verify(proof, pending.context);
      expect(identity.email).toBe(ADA);
    });

    check("a proof past its lifetime is refused as expired (or invalid) (S2)", async (t) => {
      const pending = await t.start(ADA);
      const proof = await t.proofFor(ADA, kind);
      t.subject.advance(harness.ttlMs + 1_000);
      expect(["expired", "invalid"]).toContain(
        await settledCode(t.adapter.verify(proof, pending.context)),
      );
    });

    check("a wrong proof is refused as invalid and leaves the right one usable", async (t) => {
      const pending = await t.start(ADA);
      const proof = await t.proofFor(ADA, kind);
      expect(await settledCode(t.adapter.verify(wrongProof(proof), pending.context))).toBe(
        "invalid",
      );
      const identity = await t.adapter.verify(proof, pending.context);
      expect(identity.email).toBe(ADA);
    });

    if (harness.supersedes) {
      check("a newer start for the address makes the older proof useless (S4)", async (t) => {
        await t.start(ADA);
        const older = await t.proofFor(ADA, kind);
        // The same browser asks again: its pending-login cookie now holds the newer start.
        const newer = await t.start(ADA);
        const proof = await t.proofFor(ADA, kind);
        // Refused as stale, not as "another browser": it is the same browser.
        expect(["invalid", "expired", "used"]).toContain(
          await settledCode(t.adapter.verify(older, newer.context)),
        );
        expect((await t.adapter.verify(proof, newer.context)).email).toBe(ADA);
      });
    }

    if (kind === "code") {
      check("a code used with another address is refused as invalid", async (t) => {
        const ada = await t.start(ADA);
        const adaProof = await t.proofFor(ADA, "code");
        let bob = await t.start(BOB);
        let bobProof = await t.proofFor(BOB, "code");
        // One chance in a million that both got the same code; ask again then.
        while (
          bobProof.kind === "code" &&
          adaProof.kind === "code" &&
          bobProof.code === adaProof.code
        ) {
          bob = await t.start(BOB);
          bobProof = await t.proofFor(BOB, "code");
        }
        const crossed = { ...adaProof, email: BOB } as Proof;
        expect(await settledCode(t.adapter.verify(crossed, bob.context))).toBe("invalid");
        expect((await t.adapter.verify(adaProof, ada.context)).email).toBe(ADA);
      });

      const limit = harness.maxCodeAttempts ?? 0;
      check(
        `wrong codes end in too_many_attempts within the stated ${limit} tries (S10)`,
        async (t) => {
          expect(limit, "S10: a code dies after at most 5 wrong tries").toBeLessThanOrEqual(5);
          expect(limit).toBeGreaterThan(0);
          const pending = await t.start(ADA);
          const proof = await t.proofFor(ADA, "code");
          const answers: string[] = [];
          for (let i = 0; i <= limit; i++) {
            answers.push(await settledCode(t.adapter.verify(wrongProof(proof), pending.context)));
          }
          const first = answers.indexOf("too_many_attempts");
          expect(first, `answers to ${limit + 1} wrong codes: ${answers.join(", ")}`).not.toBe(-1);
          expect(
            answers.slice(0, first).every((a) => a === "invalid"),
            answers.join(", "),
          ).toBe(true);
          expect(
            answers.slice(first).every((a) => a === "too_many_attempts"),
            answers.join(", "),
          ).toBe(true);
          // The right code no longer helps: guessing is over for this delivery.
          expect(["too_many_attempts", "invalid", "used"]).toContain(
            await settledCode(t.adapter.verify(proof, pending.context)),
          );
        },
      );
    }

    if (kind === "link" && harness.bindsLinkToBrowser) {
      check(
        "a link confirmed in another browser is refused as not_same_browser and stays usable (S8)",
        async (t) => {
          const pending = await t.start(ADA);
          const proof = await t.proofFor(ADA, "link");
          const elsewhere = { ...pending.context, nonceHash: nonceHash() };
          expect(await settledCode(t.adapter.verify(proof, elsewhere))).toBe("not_same_browser");
          const noCookie = { ...pending.context, nonceHash: undefined };
          expect(await settledCode(t.adapter.verify(proof, noCookie))).toBe("not_same_browser");
          expect((await t.adapter.verify(proof, pending.context)).email).toBe(ADA);
        },
      );
    }
  }
  group = undefined;

  if (harness.proofKinds.includes("link") && harness.proofKinds.includes("code")) {
    check(
      "the link and the code of one delivery, redeemed at once, give one identity (S3)",
      async (t) => {
        const pending = await t.start(ADA);
        const link = await t.proofFor(ADA, "link");
        const code = await t.proofFor(ADA, "code");
        const results = await Promise.allSettled(
          [link, code, link, code].map((proof) => t.adapter.verify(proof, pending.context)),
        );
        expectOneWinner(results);
      },
    );
  }

  check("malformed proofs of every kind are refused with AuthErrors only", async (t) => {
    const pending = await t.start(ADA);
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
      const outcome = await settledCode(t.adapter.verify(proof, pending.context));
      expect(outcome, JSON.stringify(proof).slice(0, 80)).not.toBe("ok");
      expect(outcome, JSON.stringify(proof).slice(0, 80)).not.toBe("not an AuthError");
    }
  });

  check("a backend failure at start surfaces as unavailable, nothing else", async (t) => {
    t.subject.breakProvider();
    expect(await settledCode(t.start(ADA))).toBe("unavailable");
  });

  if (harness.hasProvider) {
    check(
      "a provider's 429 is rate_limited with its Retry-After, at start and at verify",
      async (t) => {
        const rateLimit = t.subject.rateLimitProvider;
        if (!rateLimit) throw new Error(`${harness.name}: hasProvider, but no rateLimitProvider`);
        const pending = await t.start(ADA);
        const proofs = await deliveredProofs(t, ADA);
        rateLimit(37);
        const started = await failure(t.start(BOB));
        expect(isAuthError(started) && started.code, String(started)).toBe("rate_limited");
        expect((started as AuthError).retryAfter).toBe(37);
        for (const proof of proofs) {
          // Verified without asking the provider, or refused with the provider's wait.
          const verified = await failure(t.adapter.verify(proof, pending.context));
          if (verified === undefined) continue;
          expect(isAuthError(verified) && verified.code, String(verified)).toBe("rate_limited");
          expect((verified as AuthError).retryAfter).toBe(37);
        }
      },
    );
  }

  check(
    "nothing but an AuthError leaves start, verify or sendCode under injected faults",
    async (t) => {
      const faults = ["breakProvider", ...Object.keys(t.subject.faults ?? {})];
      for (const fault of faults) {
        // Each fault on a fresh subject: one broken backend must not hide another's answer.
        const subject = fault === "breakProvider" ? t.subject : await harness.setup();
        try {
          const tools = toolsFor(subject);
          const pending = await tools.start(ADA);
          const proofs = await deliveredProofs(tools, ADA);
          if (fault === "breakProvider") subject.breakProvider();
          else subject.faults?.[fault]?.();
          // One call at a time: a rejection is looked at when it happens, never left unhandled.
          const calls: Array<[string, () => Promise<unknown>]> = [
            ["start", () => tools.start(BOB)],
            ["start again", () => tools.start(ADA)],
            ...proofs.map((proof): [string, () => Promise<unknown>] => [
              `verify ${proof.kind}`,
              () => subject.adapter.verify(proof, pending.context),
            ]),
          ];
          const { sendCode } = subject.adapter;
          if (sendCode) {
            calls.push(["sendCode", () => sendCode.call(subject.adapter, ADA, startContext())]);
          }
          for (const [call, run] of calls) {
            const error = await failure(run());
            if (error === undefined) continue;
            expect(isAuthError(error), `${fault}: ${call} threw ${String(error)}`).toBe(true);
          }
        } finally {
          if (subject !== t.subject) await subject.teardown?.();
        }
      }
    },
  );

  check("state is fresh: nothing from another test was delivered", async (t) => {
    for (const kind of harness.proofKinds) {
      expect(await t.subject.proof(ADA, kind)).toBeUndefined();
      expect(await t.subject.proof(BOB, kind)).toBeUndefined();
    }
  });

  return checks;

  /** A proof of every kind from the newest delivery (read before any fault). */
  async function deliveredProofs(t: Tools, email: string): Promise<Proof[]> {
    const proofs: Proof[] = [];
    for (const kind of harness.proofKinds) proofs.push(await t.proofFor(email, kind));
    return proofs;
  }
}

/** Of parallel redemptions exactly one wins; the others hear `used` or `invalid`. */
function expectOneWinner(results: PromiseSettledResult<Identity>[]): void {
  const won = results.filter(
    (r): r is PromiseFulfilledResult<Identity> => r.status === "fulfilled",
  );
  expect(won).toHaveLength(1);
  for (const result of results) {
    if (result.status === "rejected") {
      expect(isAuthError(result.reason), String(result.reason)).toBe(true);
      expect(["used", "invalid"]).toContain((result.reason as { code: string }).code);
    }
  }
}

async function runCheck(harness: ConformanceHarness, check: ConformanceCheck): Promise<void> {
  const subject = await harness.setup();
  try {
    await check.run(subject);
  } finally {
    await subject.teardown?.();
  }
}

/** Register the suite for one adapter (call at the top level of a *.test.ts file). */
export function runAdapterConformance(harness: ConformanceHarness): void {
  const checks = conformanceChecks(harness);
  describe(`adapter conformance: ${harness.name}`, () => {
    const groups = [...new Set(checks.map((c) => c.group))];
    for (const group of groups) {
      const register = () => {
        for (const check of checks.filter((c) => c.group === group)) {
          it(check.name, () => runCheck(harness, check));
        }
      };
      if (group) describe(group, register);
      else register();
    }
  });
}

/**
 * Run every check outside the test runner's bookkeeping and return the names of those that
 * fail ({@link checkName}), with why. This is how the suite proves itself: each deliberately
 * broken adapter in tests/conformance/broken must fail the check that names its flaw.
 */
export async function failedChecks(
  harness: ConformanceHarness,
): Promise<Array<{ check: string; error: unknown }>> {
  const failed: Array<{ check: string; error: unknown }> = [];
  for (const check of conformanceChecks(harness)) {
    try {
      await runCheck(harness, check);
    } catch (error) {
      failed.push({ check: checkName(check), error });
    }
  }
  return failed;
}
