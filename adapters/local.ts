import { renderSignInEmail } from "../app/mail/template";
import type { Mailer } from "../app/mail/types";
import { systemClock, type Clock } from "../app/lib/clock";
import { hmacHex, randomCode, randomId, randomToken, safeEqual } from "../app/lib/crypto.server";
import type { Store } from "../app/store/types";
import { AuthError, isAuthError } from "./errors";
import { defineAdapter } from "./module";
import type {
  AuthAdapter,
  Identity,
  Proof,
  StartContext,
  StartResult,
  VerifyContext,
} from "./types";

export interface LocalAdapterOptions {
  store: Store;
  mailer: Mailer;
  /** Server-side key for the keyed hashes (S5); 32 random bytes or derived from a secret. */
  hashKey: Uint8Array;
  /** Link and code lifetime in seconds (S2); at most 900. */
  ttlSeconds?: number;
  /**
   * How long a record is kept after it expires, in seconds (0–600, default 600), only so
   * that a late click hears "expired" rather than "invalid". With 0 the store drops it at
   * its expiry, and a late click is told the link is invalid.
   */
  graceSeconds?: number;
  /** Wrong code tries before the pending code dies (S10). */
  maxAttempts?: number;
  appName?: string;
  clock?: Clock;
}

/** One pending sign-in: the link and the code of one request share it (S3). */
interface LoginRecord {
  id: string;
  email: string;
  /** HMAC of the link token; the token itself is never stored (S5). */
  token: string;
  /** HMAC of the code, salted with the record id. */
  code: string;
  /** SHA-256 of the starting browser's pending-cookie nonce (S8). */
  nonce: string;
  expiresAt: number;
}

/** Where a token points: the email's record, and which record it was issued with. */
interface TokenIndex {
  emailKey: string;
  recordId: string;
}

type Gone = "used" | "too_many_attempts";

/**
 * The embedded default adapter: it issues its own link and code, keeps only their keyed
 * hashes in the store, and mails both in one email (S9).
 */
export function createLocalAdapter(options: LocalAdapterOptions): AuthAdapter {
  const { store, mailer, hashKey } = options;
  const ttlSeconds = options.ttlSeconds ?? 600;
  if (ttlSeconds <= 0 || ttlSeconds > 900) {
    throw new AuthError("misconfigured", "LOGIN_TTL must be between 1 and 900 seconds");
  }
  const graceSeconds = options.graceSeconds ?? 600;
  if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > 600) {
    throw new AuthError("misconfigured", "LOGIN_GRACE must be between 0 and 600 seconds");
  }
  const ttlMs = ttlSeconds * 1000;
  // Records linger this long past their expiry so that a late click hears "expired".
  const graceMs = graceSeconds * 1000;
  const keepMs = ttlMs + graceMs;
  const maxAttempts = options.maxAttempts ?? 5;
  const appName = options.appName ?? "the app";
  const clock = options.clock ?? systemClock;

  const hash = (purpose: string, value: string) => hmacHex(hashKey, `${purpose}:${value}`);
  const emailKey = (email: string) => `login:email:${hash("email", email)}`;
  const tokenKey = (token: string) => `login:token:${hash("token", token)}`;
  const triesKey = (recordId: string) => `login:tries:${recordId}`;
  const goneKey = (recordId: string) => `login:gone:${recordId}`;

  const identityFor = (email: string): Identity => ({
    // Stable per address and meaningless without the server key.
    id: `local_${hash("user", email).slice(0, 32)}`,
    email,
    adapter: "local",
  });

  /**
   * Why the record `recordId` is no longer there. `mine`: it is the sign-in this browser
   * asked for (its pending cookie names it), so when nothing says "used" or "too many", its
   * time ran out, a newer request replaced it, or the store lost it (STORE=memory after a
   * restart): "expired, send a new email" is the truth, and "didn't match" would have the
   * person retype a right code until the tries run out.
   */
  async function goneReason(recordId: string | undefined, mine = false): Promise<AuthError> {
    const why = recordId ? await store.get(goneKey(recordId)) : null;
    if (why === "used") return new AuthError("used", "This sign-in was already used");
    if (why === "too_many_attempts")
      return new AuthError("too_many_attempts", "Too many wrong codes");
    if (mine) return new AuthError("expired", "This browser's sign-in is no longer pending");
    return new AuthError("invalid", "No pending sign-in matches");
  }

  /** Whether this browser's own sign-in (`context.ref`, for `email`) is still pending. */
  async function stillPending(email: string, context: VerifyContext): Promise<boolean> {
    return (await load(emailKey(email)))?.id === context.ref;
  }

  /**
   * Consume the record, as read (`raw`), and mark it used, in one step: of concurrent
   * callers exactly one finds it unchanged and removes it (S3). A newer request's record
   * that replaced it meanwhile is left alone, and this one is then not marked used.
   */
  async function consume(key: string, raw: string, record: LoginRecord): Promise<void> {
    const won = await store.swap(key, raw, [
      { key: goneKey(record.id), value: "used" satisfies Gone, ttlMs: keepMs },
    ]);
    if (!won) throw await goneReason(record.id);
  }

  async function start(email: string, context: StartContext): Promise<StartResult> {
    const token = randomToken();
    const code = randomCode();
    const id = randomId();
    const record: LoginRecord = {
      id,
      email,
      token: hash("token", token),
      // Salted with the record id, so equal codes of two records never hash alike.
      code: hash(`code:${id}`, code),
      nonce: context.nonceHash,
      expiresAt: clock() + ttlMs,
    };
    const key = emailKey(email);
    // Overwriting the email's record supersedes any older link or code (S4). The record and
    // its link's index are written in one step: one commit, one round trip.
    await store.setMany([
      { key, value: JSON.stringify(record), ttlMs: keepMs },
      {
        key: tokenKey(token),
        value: JSON.stringify({ emailKey: key, recordId: record.id } satisfies TokenIndex),
        ttlMs: keepMs,
      },
    ]);

    const link = `${context.linkUrl}?token=${encodeURIComponent(token)}`;
    try {
      // Queued, not sent: the queue retries it until the record expires, and not after.
      await mailer.send({
        ...renderSignInEmail({
          to: email,
          appName,
          link,
          code,
          expiresInMinutes: Math.ceil(ttlSeconds / 60),
        }),
        tag: context.mail,
        expiresAt: record.expiresAt,
      });
    } catch (error) {
      await store.delete(key);
      throw new AuthError("unavailable", "The sign-in email could not be sent", { cause: error });
    }
    return { delivered: { link: true, code: true }, ref: record.id, adapter: "local" };
  }

  async function load(key: string): Promise<LoginRecord | null> {
    return (await loadRaw(key))?.record ?? null;
  }

  /** The record with its stored text, which `swap` compares so that only it is consumed. */
  async function loadRaw(key: string): Promise<{ record: LoginRecord; raw: string } | null> {
    const raw = await store.get(key);
    return raw ? { record: JSON.parse(raw) as LoginRecord, raw } : null;
  }

  async function verifyLink(token: string, context: VerifyContext): Promise<Identity> {
    if (!token || token.length > 200) throw new AuthError("invalid", "Malformed link");
    const rawIndex = await store.get(tokenKey(token));
    if (!rawIndex) {
      // An unknown link. When this browser's own sign-in is gone as well, the link is most
      // likely that sign-in's, from a store that no longer has it: say it expired.
      if (context.email && context.ref && !(await stillPending(context.email, context)))
        throw await goneReason(context.ref, true);
      throw new AuthError("invalid", "Unknown link");
    }
    const index = JSON.parse(rawIndex) as TokenIndex;
    const loaded = await loadRaw(index.emailKey);
    if (
      !loaded ||
      loaded.record.id !== index.recordId ||
      !safeEqual(loaded.record.token, hash("token", token))
    ) {
      // Consumed, killed, or superseded by a newer request for the same address (S4).
      throw await goneReason(index.recordId, index.recordId === context.ref);
    }
    const { record, raw } = loaded;
    if (clock() > record.expiresAt) throw new AuthError("expired", "The link has expired");
    // Only the browser that asked may redeem; checked before consuming, so a scanner's or a
    // second device's attempt leaves the code usable in the original tab (S8).
    if (!context.nonceHash || !safeEqual(record.nonce, context.nonceHash)) {
      throw new AuthError("not_same_browser", "Confirmed from another browser");
    }
    await consume(index.emailKey, raw, record);
    return identityFor(record.email);
  }

  async function verifyCode(
    email: string,
    code: string,
    context: VerifyContext,
  ): Promise<Identity> {
    if (!/^\d{6}$/.test(code)) throw new AuthError("invalid", "A code is six digits");
    const key = emailKey(email);
    const loaded = await loadRaw(key);
    // The address is the one this browser asked for: a missing or newer record means its
    // own sign-in is over (expired, replaced from another browser, or lost).
    // (A throttled request's pending cookie has no ref: no record was ever made for it.)
    const mine = Boolean(context.ref) && context.email === email;
    if (!loaded || (mine && loaded.record.id !== context.ref)) {
      throw await goneReason(context.ref, mine);
    }
    const { record, raw } = loaded;
    // The code, like the link, works only in the browser that asked for it (S8): someone who
    // reads a fresh code cannot start a sign-in of their own and use it. Such tries can
    // never succeed, so they are not counted against the person's five.
    if (!context.nonceHash || !safeEqual(record.nonce, context.nonceHash)) {
      throw new AuthError("not_same_browser", "The code was requested in another browser");
    }
    // Count first, compare after: parallel guesses cannot all slip under the limit (S10).
    const tries = await store.increment(triesKey(record.id), keepMs);
    if (tries > maxAttempts) {
      // Refused without touching the record: a right try still in flight (≤ 5) may consume
      // it, so that of parallel right tries exactly one wins (S3).
      throw new AuthError("too_many_attempts", "Too many wrong codes");
    }
    if (clock() > record.expiresAt) throw new AuthError("expired", "The code has expired");
    if (!safeEqual(record.code, hash(`code:${record.id}`, code))) {
      if (tries >= maxAttempts) {
        // The last try kills the record and says why in one step. Should a right try in
        // flight have consumed it first, it stays "used", which is then the truth.
        await store.swap(key, raw, [
          { key: goneKey(record.id), value: "too_many_attempts" satisfies Gone, ttlMs: keepMs },
        ]);
        throw new AuthError("too_many_attempts", "Too many wrong codes");
      }
      throw new AuthError("invalid", "Wrong code");
    }
    await consume(key, raw, record);
    return identityFor(record.email);
  }

  async function verify(proof: Proof, context: VerifyContext): Promise<Identity> {
    try {
      switch (proof.kind) {
        case "link":
          return await verifyLink(proof.token, context);
        case "code":
          return await verifyCode(proof.email, proof.code.trim(), context);
        default:
          throw new AuthError("invalid", "This adapter issues no callback codes");
      }
    } catch (error) {
      if (isAuthError(error)) throw error;
      throw new AuthError("unavailable", "The sign-in store failed", { cause: error });
    }
  }

  return {
    name: "local",
    delivers: { link: true, code: true },
    async start(email, context) {
      try {
        return await start(email, context);
      } catch (error) {
        if (isAuthError(error)) throw error;
        throw new AuthError("unavailable", "The sign-in store failed", { cause: error });
      }
    },
    verify,
  };
}

/**
 * `AUTH_ADAPTER=local`, the default. It reads no variables of its own: `LOGIN_TTL` and
 * `LOGIN_GRACE` are the app's.
 */
export const localAdapter = defineAdapter({
  name: "local",
  variables: {},
  // The app mails the link and the code itself.
  sendsMail: () => true,
  create: ({ config, store, mailer, clock, hashKey }) =>
    createLocalAdapter({
      store,
      mailer,
      hashKey,
      clock,
      ttlSeconds: config.loginTtlSeconds,
      graceSeconds: config.loginGraceSeconds,
      appName: config.appName,
    }),
});
