import { createCookieSessionStorage, type SessionStorage } from "react-router";
import type { Identity } from "../../adapters/types";
import { createSealer } from "../lib/aead.server";
import { systemClock, type Clock } from "../lib/clock";
import { randomId } from "../lib/crypto.server";
import type { Store } from "../store/types";

/** What the app knows about the signed-in person. */
export type SessionUser = Identity;

/** The sealed payload of a session cookie. Times are ms since the epoch. */
interface SessionPayload {
  /** Session id, 128 random bits, new at every sign-in (S20). */
  sid: string;
  user: SessionUser;
  /** Issued at: the absolute lifetime counts from here (S21). */
  iat: number;
  /** Last seen: the idle timeout counts from here, rolled forward at most once a minute. */
  seen: number;
}

export interface SessionInfo {
  id: string;
  user: SessionUser;
  issuedAt: number;
  lastSeenAt: number;
  /** When the session ends at the latest (absolute lifetime). */
  expiresAt: number;
  /** When the session ends if the person does nothing. */
  idleExpiresAt: number;
}

export interface SessionManagerOptions {
  secrets: readonly string[];
  /** Secure cookies with the __Host- prefix (APP_ORIGIN is https). */
  secure: boolean;
  maxAgeSeconds: number;
  idleTimeoutSeconds: number;
  store: Store;
  clock?: Clock;
  /** Roll `lastSeenAt` forward at most this often, in ms (S21). */
  rollIntervalMs?: number;
}

export interface SessionRead {
  session: SessionInfo | null;
  /** A Set-Cookie header to send: the rolled idle stamp, or clearing a dead cookie. */
  setCookie?: string;
}

export interface SessionManager {
  readonly cookieName: string;
  /** Read, verify, decode and check the session of a request. Cached per Request object. */
  read(request: Request): Promise<SessionRead>;
  /** A new session for a freshly verified identity (S20): returns its Set-Cookie header. */
  create(user: SessionUser): Promise<{ setCookie: string; session: SessionInfo }>;
  /** Revoke the request's session (S22) and return the Set-Cookie that clears it. */
  destroy(request: Request): Promise<string>;
  /** Make every session of this user issued until now fail (S22, "sign out everywhere"). */
  revokeAllFor(userId: string): Promise<void>;
  /** A Set-Cookie header that removes the session cookie. */
  clearCookie(): Promise<string>;
}

/**
 * Cookie sessions whose expiry the server enforces (S21) from timestamps in a sealed
 * payload (S19), with revocation in the store (S22).
 */
export function createSessionManager(options: SessionManagerOptions): SessionManager {
  const clock = options.clock ?? systemClock;
  const { store } = options;
  const maxAgeMs = options.maxAgeSeconds * 1000;
  const idleMs = options.idleTimeoutSeconds * 1000;
  const rollMs = options.rollIntervalMs ?? 60_000;
  const sealer = createSealer(options.secrets, "session");
  // __Host- pins the cookie to this exact host over https, with Path=/ and no Domain (S18).
  const cookieName = options.secure ? "__Host-session" : "session";
  const storage: SessionStorage<{ v: string }> = createCookieSessionStorage({
    cookie: {
      name: cookieName,
      httpOnly: true,
      secure: options.secure,
      sameSite: "lax",
      path: "/",
      secrets: [...options.secrets],
      maxAge: options.maxAgeSeconds,
    },
  });
  const cache = new WeakMap<Request, Promise<SessionRead>>();

  const revokedKey = (sid: string) => `session:revoked:${sid}`;
  const notBeforeKey = (userId: string) => `session:not-before:${userId}`;

  function info(payload: SessionPayload): SessionInfo {
    return {
      id: payload.sid,
      user: payload.user,
      issuedAt: payload.iat,
      lastSeenAt: payload.seen,
      expiresAt: payload.iat + maxAgeMs,
      idleExpiresAt: Math.min(payload.seen + idleMs, payload.iat + maxAgeMs),
    };
  }

  async function commit(payload: SessionPayload): Promise<string> {
    const session = await storage.getSession();
    session.set("v", sealer.seal(JSON.stringify(payload)));
    // Max-Age is only a hint to the browser; the server checks the stamps (S21).
    const remaining = Math.max(1, Math.floor((payload.iat + maxAgeMs - clock()) / 1000));
    return storage.commitSession(session, { maxAge: remaining });
  }

  async function decode(request: Request): Promise<SessionPayload | "absent" | "invalid"> {
    const header = request.headers.get("Cookie");
    if (!header || !header.includes(`${cookieName}=`)) return "absent";
    // A huge or malformed cookie is treated as no session, never as an error (S26).
    if (header.length > 16_384) return "invalid";
    let sealed: unknown;
    try {
      const session = await storage.getSession(header);
      sealed = session.get("v");
    } catch {
      return "invalid";
    }
    if (typeof sealed !== "string") return "invalid";
    const json = sealer.open(sealed);
    if (json === null) return "invalid";
    try {
      const payload = JSON.parse(json) as SessionPayload;
      if (typeof payload.sid !== "string" || typeof payload.iat !== "number" || typeof payload.seen !== "number") return "invalid";
      return payload;
    } catch {
      return "invalid";
    }
  }

  async function readUncached(request: Request): Promise<SessionRead> {
    const payload = await decode(request);
    if (payload === "absent") return { session: null };
    if (payload === "invalid") return { session: null, setCookie: await clearCookie() };
    const now = clock();
    const expired = now >= payload.iat + maxAgeMs || now >= payload.seen + idleMs;
    if (expired) return { session: null, setCookie: await clearCookie() };
    const [revoked, notBefore] = await Promise.all([store.get(revokedKey(payload.sid)), store.get(notBeforeKey(payload.user.id))]);
    if (revoked !== null || (notBefore !== null && payload.iat <= Number(notBefore))) {
      return { session: null, setCookie: await clearCookie() };
    }
    if (now - payload.seen >= rollMs) {
      const rolled = { ...payload, seen: now };
      return { session: info(rolled), setCookie: await commit(rolled) };
    }
    return { session: info(payload) };
  }

  async function clearCookie(): Promise<string> {
    return storage.destroySession(await storage.getSession());
  }

  return {
    cookieName,
    read(request) {
      let pending = cache.get(request);
      if (!pending) {
        pending = readUncached(request);
        cache.set(request, pending);
      }
      return pending;
    },
    async create(user) {
      const now = clock();
      const payload: SessionPayload = { sid: randomId(), user, iat: now, seen: now };
      return { setCookie: await commit(payload), session: info(payload) };
    },
    async destroy(request) {
      const payload = await decode(request);
      if (typeof payload === "object") {
        const remaining = payload.iat + maxAgeMs - clock();
        // Remembered until the cookie would have died anyway, so a copied cookie stays dead (S22).
        if (remaining > 0) await store.set(revokedKey(payload.sid), "1", remaining);
      }
      cache.delete(request);
      return clearCookie();
    },
    async revokeAllFor(userId) {
      await store.set(notBeforeKey(userId), String(clock()), maxAgeMs);
    },
    clearCookie,
  };
}
