import type { Delivered } from "../../adapters/types";
import { createSealedCookie } from "../lib/sealed-cookie.server";
import { systemClock, type Clock } from "../lib/clock";
import {
  hmacHex,
  randomId,
  randomToken,
  safeEqual,
  sha256Hex,
  deriveKey,
} from "../lib/crypto.server";

/**
 * The pending sign-in, held by the browser that started it (S8): which address, which
 * adapter and reference, what was delivered, where to go afterwards, and a 256-bit nonce
 * whose hash the adapter keeps beside the secret. Sealed, because it holds the address.
 */
export interface PendingLogin {
  /** Random id; also what the `state` parameter refers to. */
  id: string;
  email: string;
  nonce: string;
  ref: string;
  adapter: string;
  delivered: Delivered;
  returnTo: string;
  /** When this pending sign-in stops being useful (ms). */
  expiresAt: number;
  /** When the last email went out (ms), for "send again". */
  sentAt: number;
  /**
   * "domain" for a sign-in sent to the organization's identity provider (SSO): the
   * identity that comes back must be at the typed address's domain, not that exact address.
   */
  match?: "domain";
  /** The id of this sign-in's email in the mail queue (`MailTag.id`). */
  mailId?: string;
  /**
   * Set when this browser asked again too soon and nothing was sent: when it may ask again
   * (ms), so the page can say so instead of pretending to send.
   */
  againAt?: number;
}

export interface PendingLoginStore {
  readonly cookieName: string;
  /** A fresh pending sign-in (new id and nonce). */
  create(fields: Omit<PendingLogin, "id" | "nonce" | "expiresAt" | "sentAt">): PendingLogin;
  read(request: Request): Promise<PendingLogin | null>;
  commit(pending: PendingLogin): Promise<string>;
  clear(): Promise<string>;
  /** The store's clock (ms). */
  now(): number;
  /** SHA-256 of the nonce: what adapters store and compare (S8). */
  nonceHash(pending: PendingLogin): string;
  /** The opaque `state` for providers that round-trip one: the pending id, signed (S16). */
  state(pending: PendingLogin): string;
  /** The pending id a `state` names, or null when we did not issue it. */
  verifyState(state: string | null): string | null;
}

export interface PendingLoginOptions {
  secrets: readonly string[];
  secure: boolean;
  /** Lifetime in seconds (≤ 600, S8). */
  ttlSeconds: number;
  clock?: Clock;
}

export function createPendingLoginStore(options: PendingLoginOptions): PendingLoginStore {
  const clock = options.clock ?? systemClock;
  const ttlSeconds = Math.min(options.ttlSeconds, 600);
  const stateKeys = options.secrets.map((secret) => deriveKey(secret, "pending-state"));
  const cookieName = options.secure ? "__Host-pending" : "pending";
  // Sealed, because it holds the address; the seal is also its only signature (S19, S24).
  const cookie = createSealedCookie({
    name: cookieName,
    secrets: options.secrets,
    purpose: "pending-login",
    secure: options.secure,
  });

  return {
    cookieName,
    create(fields) {
      const now = clock();
      return {
        ...fields,
        id: randomId(),
        nonce: randomToken(32),
        expiresAt: now + ttlSeconds * 1000,
        sentAt: now,
      };
    },
    async read(request) {
      const json = cookie.open(request.headers.get("Cookie"));
      // Stryker disable next-line ConditionalExpression,LogicalOperator,StringLiteral: equivalent, JSON.parse refuses both words and the catch below returns null
      if (json === "absent" || json === "invalid") return null;
      try {
        const pending = JSON.parse(json) as PendingLogin;
        if (typeof pending.expiresAt !== "number" || pending.expiresAt <= clock()) return null;
        return pending;
      } catch {
        return null;
      }
    },
    commit(pending) {
      const remaining = Math.max(1, Math.floor((pending.expiresAt - clock()) / 1000));
      return Promise.resolve(cookie.serialize(JSON.stringify(pending), remaining));
    },
    clear() {
      return Promise.resolve(cookie.clear);
    },
    now: clock,
    nonceHash(pending) {
      return sha256Hex(pending.nonce);
    },
    state(pending) {
      return `${pending.id}.${hmacHex(stateKeys[0] as Buffer, pending.id).slice(0, 32)}`;
    },
    verifyState(state) {
      if (typeof state !== "string" || state.length > 200) return null;
      const [id, mac] = state.split(".");
      if (!id || !mac || !/^[0-9a-f]{32}$/.test(id)) return null;
      return stateKeys.some((key) => safeEqual(hmacHex(key, id).slice(0, 32), mac)) ? id : null;
    },
  };
}
