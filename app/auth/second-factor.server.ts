import type { SecondFactorStep } from "../../adapters/types";
import { createSealer } from "../lib/aead.server";
import { createSealedCookie } from "../lib/sealed-cookie.server";
import { systemClock, type Clock } from "../lib/clock";
import { randomId } from "../lib/crypto.server";
import type { Store } from "../store/types";
import type { PendingLogin } from "./pending.server";

/**
 * A sign-in whose first factor was right and whose provider asks for a second one (MFA),
 * held sealed by the browser that got this far, for a few minutes. It carries the
 * adapter's state (WorkOS's pending authentication token), which with the right code
 * signs the person in: so it lives only in this sealed, HttpOnly cookie, never in a page,
 * a URL or a log.
 */
export interface SecondFactorPending {
  /** Random id: keys the wrong-code counter and the enrollment record in the store. */
  id: string;
  /** The address of the first factor (the limits count per address). */
  email: string;
  returnTo: string;
  /** The adapter whose `verify` asked for the second factor. */
  adapter: string;
  match?: "domain";
  kind: SecondFactorStep["kind"];
  /** Adapter-owned; handed back to `verifySecondFactor`. */
  state: string;
  expiresAt: number;
}

export interface SecondFactorStore {
  readonly cookieName: string;
  /** Wrong codes before the step dies (S10). */
  readonly maxFailures: number;
  /** Start the step for `pending`: the Set-Cookie of its cookie. */
  begin(pending: PendingLogin, step: SecondFactorStep): Promise<string>;
  read(request: Request): Promise<SecondFactorPending | null>;
  /** What the enrollment page shows (QR code and secret), while the step lives. */
  enrollment(pending: SecondFactorPending): Promise<{ qrCode: string; secret: string } | null>;
  /** Count one wrong code; returns how many there have been. */
  recordFailure(pending: SecondFactorPending): Promise<number>;
  failures(pending: SecondFactorPending): Promise<number>;
  /** Forget the step's records in the store (after success or when it dies). */
  finish(pending: SecondFactorPending): Promise<void>;
  clear(): Promise<string>;
}

export interface SecondFactorStoreOptions {
  secrets: readonly string[];
  secure: boolean;
  store: Store;
  /** Lifetime, seconds (≤ 600, WorkOS's pending token lives ten minutes). */
  ttlSeconds: number;
  clock?: Clock;
  maxFailures?: number;
}

export function createSecondFactorStore(options: SecondFactorStoreOptions): SecondFactorStore {
  const { store } = options;
  const clock = options.clock ?? systemClock;
  const ttlSeconds = Math.min(options.ttlSeconds, 600);
  const maxFailures = options.maxFailures ?? 5;
  // The enrollment holds the factor's secret and its QR image: sealed at rest too.
  const recordSealer = createSealer(options.secrets, "second-factor-enrollment", 256 * 1024);
  const cookieName = options.secure ? "__Host-mfa" : "mfa";
  // Sealed: it carries the pending authentication token; the seal is its signature (S19).
  const cookie = createSealedCookie({
    name: cookieName,
    secrets: options.secrets,
    purpose: "second-factor",
    secure: options.secure,
  });
  const enrollmentKey = (id: string) => `mfa:enrollment:${id}`;
  const failuresKey = (id: string) => `mfa:failures:${id}`;
  const remainingMs = (pending: SecondFactorPending) => Math.max(1, pending.expiresAt - clock());

  return {
    cookieName,
    maxFailures,
    async begin(from, step) {
      const pending: SecondFactorPending = {
        id: randomId(),
        email: from.email,
        returnTo: from.returnTo,
        adapter: from.adapter,
        ...(from.match ? { match: from.match } : {}),
        kind: step.kind,
        state: step.state,
        expiresAt: clock() + ttlSeconds * 1000,
      };
      if (step.enrollment) {
        await store.set(
          enrollmentKey(pending.id),
          recordSealer.seal(JSON.stringify(step.enrollment)),
          ttlSeconds * 1000,
        );
      }
      return cookie.serialize(JSON.stringify(pending), ttlSeconds);
    },
    async read(request) {
      const json = cookie.open(request.headers.get("Cookie"));
      // Stryker disable next-line ConditionalExpression,LogicalOperator,StringLiteral: equivalent, JSON.parse refuses both words and the catch below returns null
      if (json === "absent" || json === "invalid") return null;
      try {
        const pending = JSON.parse(json) as SecondFactorPending;
        // Expiry is checked here, not trusted to the cookie's Max-Age (S21's rule).
        if (typeof pending.expiresAt !== "number" || pending.expiresAt <= clock()) return null;
        if (typeof pending.state !== "string" || typeof pending.email !== "string") return null;
        return pending;
      } catch {
        return null;
      }
    },
    async enrollment(pending) {
      const raw = await store.get(enrollmentKey(pending.id));
      const json = raw === null ? null : recordSealer.open(raw);
      if (json === null) return null;
      try {
        const value = JSON.parse(json) as { qrCode?: unknown; secret?: unknown };
        if (typeof value.qrCode !== "string" || typeof value.secret !== "string") return null;
        return { qrCode: value.qrCode, secret: value.secret };
      } catch {
        return null;
      }
    },
    recordFailure(pending) {
      return store.increment(failuresKey(pending.id), remainingMs(pending));
    },
    async failures(pending) {
      return Number((await store.get(failuresKey(pending.id))) ?? 0);
    },
    async finish(pending) {
      await Promise.all([
        store.delete(enrollmentKey(pending.id)),
        store.delete(failuresKey(pending.id)),
      ]);
    },
    clear() {
      return Promise.resolve(cookie.clear);
    },
  };
}
