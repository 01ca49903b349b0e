import { AsyncLocalStorage } from "node:async_hooks";
import { data } from "react-router";
import { isIP } from "node:net";
import type { ProviderSession } from "../../adapters/types";
import { createSealedCookie } from "../lib/sealed-cookie.server";
import { systemClock, type Clock } from "../lib/clock";
import { randomId, sha256Hex } from "../lib/crypto.server";
import { isStoreUnavailableError } from "../store/errors";
import type { Store } from "../store/types";

/**
 * Whom a session belongs to. Only the user id lives in the cookie; the record itself (the
 * address, names, the team's fields) is read from the users store, once per request, by
 * `getUser`/`requireUser` (app/auth/flow.server.ts).
 */
export interface SessionUser {
  /** The user id (`usr_…`, app/store/users): the same whichever method signed the person in. */
  id: string;
  /** The adapter (or method, e.g. a passkey) that verified this sign-in. */
  adapter: string;
  /** The provider's session opened at this sign-in (WorkOS), ended with ours (ids only). */
  providerSession?: ProviderSession;
}

/** The sealed payload of a session cookie. Times are ms since the epoch. */
interface SessionPayload {
  /** Session id, 128 random bits, new at every sign-in (S20). */
  sid: string;
  /** The user id. */
  uid: string;
  /** The adapter that verified the sign-in. */
  by: string;
  /** The provider's session (ids only), sealed like the rest. */
  ps?: ProviderSession;
  /** Issued at: the absolute lifetime counts from here (S21). */
  iat: number;
  /** Last seen: the idle timeout counts from here, rolled forward at most once a minute. */
  seen: number;
}

/**
 * What the store keeps about one session for the "your sessions" page, under the session
 * id, for as long as the session can live. Only an approximate IP is kept: the page shows
 * no more than that, so the store holds no more either.
 */
interface SessionMeta {
  /** The owner: a session is only ever listed or revoked for this user id. */
  uid: string;
  created: number;
  seen: number;
  ua?: string;
  /** The /24 (IPv4) or /48 (IPv6) the session was created from. */
  net?: string;
  /** The provider's session opened at this sign-in, ended with it (ids only). */
  ps?: ProviderSession;
}

/** Sessions that just ended, for ending the provider's sessions too (see `onEnded`). */
export interface EndedSessions {
  /** Our user id. */
  userId: string;
  /** The provider sessions of the sessions that ended. */
  providerSessions: ProviderSession[];
  /** "Sign out everywhere": every provider session of these sessions' provider users ends too. */
  everywhere: boolean;
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

/** Where a sign-in came from, as the app trusts it (TRUST_PROXY, S12). */
export interface SessionRequestInfo {
  ip?: string;
  userAgent?: string;
}

/** One active session of a user, as the "your sessions" page shows it. */
export interface ActiveSession {
  /**
   * A public handle for the session: a digest of its id. The id itself never leaves the
   * server except sealed inside its own cookie, so a page or a log cannot leak it.
   */
  handle: string;
  createdAt: number;
  lastSeenAt: number;
  /** The user agent at sign-in (at most 256 characters), when known. */
  userAgent?: string;
  /** The network it signed in from, e.g. `203.0.113.0/24`, when known. */
  network?: string;
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
  /**
   * Most sessions one user keeps at once; signing in once more ends the least recently
   * active one, so every live session is listed and can be revoked. Default 50.
   */
  maxSessionsPerUser?: number;
  /**
   * Told about every session that ends here (sign-out, revocation, sign out everywhere,
   * eviction past the cap) after it has ended locally, e.g. to end the provider's session.
   * Sign-out waits for it, so it must bound its own time; whatever it throws is ignored.
   */
  onEnded?: (ended: EndedSessions) => Promise<void>;
}

export interface SessionRead {
  session: SessionInfo | null;
  /** A Set-Cookie header to send: the rolled idle stamp, or clearing a dead cookie. */
  setCookie?: string;
}

export interface SessionReadOptions {
  /**
   * Called with the user id of a cookie that opened and whose stamps are in time, just as
   * its revocation check goes to the store and before its answer: what the request reads
   * next about that user (the record every page shows) can be asked for in the same round
   * trip. The session is not yet known to be live, so nothing read here may be used unless
   * the read then answers with a session; it must not throw, nor reject unhandled.
   */
  alongside?: (userId: string) => void;
}

/**
 * Sessions whose expiry and revocation the server enforces.
 *
 * Every method that needs the store fails closed: when the store cannot answer (Redis down
 * or too slow), it throws a 503 "please try again shortly" response (see
 * {@link sessionStoreUnavailable}) that React Router renders with the root ErrorBoundary.
 * The cookie is left as it is, so the person is still signed in once the store is back.
 */
export interface SessionManager {
  readonly cookieName: string;
  /**
   * Read, verify, decode and check the session of a request, once per request (see
   * {@link oncePerRequest}): later calls, with or without `options`, get the first answer.
   */
  read(request: Request, options?: SessionReadOptions): Promise<SessionRead>;
  /**
   * A new session for a freshly verified identity (S20): returns its Set-Cookie header.
   * `info` (client IP and user agent) is shown on the "your sessions" page.
   */
  create(
    user: SessionUser,
    info?: SessionRequestInfo,
  ): Promise<{ setCookie: string; session: SessionInfo }>;
  /** Revoke the request's session (S22) and return the Set-Cookie that clears it. */
  destroy(request: Request): Promise<string>;
  /** Make every session of this user issued until now fail (S22, "sign out everywhere"). */
  revokeAllFor(userId: string): Promise<void>;
  /** The user's active sessions, most recently active first. */
  list(userId: string): Promise<ActiveSession[]>;
  /**
   * Revoke one of the user's sessions by its public handle (S22). False when the user has
   * no live session with that handle, e.g. another user's: nothing is revoked then.
   */
  revoke(userId: string, handle: string): Promise<boolean>;
  /** The public handle of a session id (what {@link ActiveSession.handle} holds). */
  handleOf(sessionId: string): string;
  /** A Set-Cookie header that removes the session cookie. */
  clearCookie(): Promise<string>;
}

/** The 503 a session-manager call throws when the store cannot answer (fail closed). */
export function sessionStoreUnavailable() {
  return data("A service we depend on is not answering right now. Please try again shortly.", {
    status: 503,
    headers: { "Retry-After": "5", "Cache-Control": "no-store" },
  });
}

/** Re-throw a store failure as the 503 response; anything else as it is. */
async function failClosed<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isStoreUnavailableError(error)) throw sessionStoreUnavailable();
    throw error;
  }
}

const requestScope = new AsyncLocalStorage<Map<string, Promise<unknown>>>();

/**
 * Run one request's work (the root middleware and every loader and action under it) with
 * one session read: React Router hands each of them its own Request object, so without a
 * shared scope the cookie would be verified, opened and checked against the store once
 * per route module. Changes made in the request (sign-out, revocation) empty the scope.
 */
export function inRequestScope<T>(run: () => Promise<T>): Promise<T> {
  return requestScope.run(new Map(), run);
}

const perRequest = new WeakMap<Request, Map<string, Promise<unknown>>>();

/**
 * `load()` once per request and `key` (and per Request object outside a scope, e.g. a test
 * calling a loader directly): what the session read and the user record read share. A
 * store failure becomes the 503 response (fail closed). Sign-out and revocation within the
 * request empty it, so nothing after them sees what was read before.
 */
export function oncePerRequest<T>(
  request: Request,
  key: string,
  load: () => Promise<T>,
): Promise<T> {
  const scope = requestScope.getStore();
  let own = perRequest.get(request);
  if (!own) perRequest.set(request, (own = new Map()));
  let pending = (own.get(key) ?? scope?.get(key)) as Promise<T> | undefined;
  if (!pending) {
    pending = failClosed(load);
    scope?.set(key, pending);
  }
  own.set(key, pending);
  return pending;
}

/**
 * Cookie sessions whose expiry the server enforces (S21) from timestamps in a sealed
 * payload (S19), with revocation in the store (S22), and a per-user index of the live
 * sessions in the store (bounded, and expiring with the sessions) for "your sessions".
 */
export function createSessionManager(options: SessionManagerOptions): SessionManager {
  const clock = options.clock ?? systemClock;
  const { store } = options;
  const maxAgeMs = options.maxAgeSeconds * 1000;
  const idleMs = options.idleTimeoutSeconds * 1000;
  const rollMs = options.rollIntervalMs ?? 60_000;
  const maxSessions = options.maxSessionsPerUser ?? 50;
  // __Host- pins the cookie to this exact host over https, with Path=/ and no Domain (S18).
  const cookieName = options.secure ? "__Host-session" : "session";
  // The sealed payload is the whole cookie: the seal authenticates it (S19, S24).
  const cookie = createSealedCookie({
    name: cookieName,
    secrets: options.secrets,
    purpose: "session",
    secure: options.secure,
    // A session's cookie comes with every request until it rolls (once a minute at most).
    remember: 4096,
  });

  const revokedKey = (sid: string) => `session:revoked:${sid}`;
  const notBeforeKey = (userId: string) => `session:not-before:${userId}`;
  const metaKey = (sid: string) => `session:meta:${sid}`;
  const indexKey = (userId: string) => `session:index:${userId}`;
  const handleOf = (sid: string) => sha256Hex(`session-handle:${sid}`).slice(0, 32);

  function info(payload: SessionPayload): SessionInfo {
    return {
      id: payload.sid,
      user: {
        id: payload.uid,
        adapter: payload.by,
        ...(payload.ps ? { providerSession: payload.ps } : {}),
      },
      issuedAt: payload.iat,
      lastSeenAt: payload.seen,
      expiresAt: payload.iat + maxAgeMs,
      idleExpiresAt: Math.min(payload.seen + idleMs, payload.iat + maxAgeMs),
    };
  }

  async function commit(payload: SessionPayload): Promise<string> {
    // Max-Age is only a hint to the browser; the server checks the stamps (S21).
    const remaining = Math.max(1, Math.floor((payload.iat + maxAgeMs - clock()) / 1000));
    return cookie.serialize(JSON.stringify(payload), remaining);
  }

  function decode(request: Request): SessionPayload | "absent" | "invalid" {
    // A huge, malformed or foreign cookie is treated as no session, never as an error (S26).
    const json = cookie.open(request.headers.get("Cookie"));
    if (json === "absent" || json === "invalid") return json;
    try {
      const payload = JSON.parse(json) as SessionPayload;
      if (
        typeof payload.sid !== "string" ||
        // A cookie from before sessions held a user id has no `uid`: it is simply signed out.
        typeof payload.uid !== "string" ||
        typeof payload.by !== "string" ||
        typeof payload.iat !== "number" ||
        typeof payload.seen !== "number"
      )
        return "invalid";
      return payload;
    } catch {
      return "invalid";
    }
  }

  function parseMeta(raw: string | null): SessionMeta | null {
    if (raw === null) return null;
    try {
      return JSON.parse(raw) as SessionMeta;
    } catch {
      return null;
    }
  }

  async function readMeta(sid: string): Promise<SessionMeta | null> {
    return parseMeta(await store.get(metaKey(sid)));
  }

  /**
   * Write the session's record and (re)index it, both expiring when the session would:
   * at its idle deadline, which every roll moves forward, capped by its absolute lifetime.
   */
  async function remember(sid: string, meta: SessionMeta, now: number): Promise<void> {
    const endsAt = Math.min(meta.seen + idleMs, meta.created + maxAgeMs);
    if (endsAt <= now) return;
    await Promise.all([
      store.set(metaKey(sid), JSON.stringify(meta), endsAt - now),
      store.indexAdd(indexKey(meta.uid), sid, endsAt, maxSessions),
    ]);
  }

  /** Record `sid` as revoked until it would have expired anyway (S22), and unlist it. */
  async function revokeId(
    userId: string,
    sid: string,
    createdAt: number | undefined,
  ): Promise<void> {
    const now = clock();
    // Without the creation time, the longest a session can live is a safe upper bound.
    const remaining = createdAt === undefined ? maxAgeMs : createdAt + maxAgeMs - now;
    await Promise.all([
      // Stryker disable next-line StringLiteral: equivalent, the read only asks whether the marker is there
      remaining > 0 ? store.set(revokedKey(sid), "1", remaining) : undefined,
      store.delete(metaKey(sid)),
      store.indexRemove(indexKey(userId), sid),
    ]);
  }

  /** Tell `onEnded`; a failure there never fails the sign-out that already happened. */
  async function ended(event: EndedSessions): Promise<void> {
    if (!options.onEnded) return;
    if (event.providerSessions.length === 0 && !event.everywhere) return;
    try {
      await options.onEnded(event);
    } catch {
      // The hook logs and queues its own failures; the local sign-out stands either way.
    }
  }

  async function readUncached(
    request: Request,
    options: SessionReadOptions | undefined,
  ): Promise<SessionRead> {
    const payload = decode(request);
    if (payload === "absent") return { session: null };
    if (payload === "invalid") return { session: null, setCookie: await clearCookie() };
    const now = clock();
    const expired = now >= payload.iat + maxAgeMs || now >= payload.seen + idleMs;
    if (expired) return { session: null, setCookie: await clearCookie() };
    // Due for a roll: the session's record (for "last seen") is read with the checks.
    const rolls = now - payload.seen >= rollMs;
    // Both checks in one store call (one SQLite query, one Redis MGET): this runs on every
    // request that carries a session.
    const checked = store.getMany([
      revokedKey(payload.sid),
      notBeforeKey(payload.uid),
      ...(rolls ? [metaKey(payload.sid)] : []),
    ]);
    options?.alongside?.(payload.uid);
    const [revoked, notBefore, rawMeta] = await checked;
    if (revoked !== null || (notBefore !== null && payload.iat <= Number(notBefore))) {
      return { session: null, setCookie: await clearCookie() };
    }
    if (rolls) {
      const rolled = { ...payload, seen: now };
      // "Last seen" on the sessions page moves with the cookie's own stamp. A session from
      // before the index existed is listed from its first roll on.
      const meta = parseMeta(rawMeta ?? null) ?? {
        uid: payload.uid,
        created: payload.iat,
        seen: now,
      };
      await remember(payload.sid, { ...meta, seen: now }, now);
      return { session: info(rolled), setCookie: await commit(rolled) };
    }
    return { session: info(payload) };
  }

  async function clearCookie(): Promise<string> {
    return cookie.clear;
  }

  function read(request: Request, options?: SessionReadOptions): Promise<SessionRead> {
    // Keyed by the cookie too: one scope serves every Request object of the request, and
    // they all carry the same header.
    const key = `${cookieName}\0${request.headers.get("Cookie") ?? ""}`;
    return oncePerRequest(request, key, () => readUncached(request, options));
  }

  return {
    cookieName,
    handleOf,
    read,
    async create(user, requestInfo = {}) {
      return failClosed(async () => {
        const now = clock();
        const payload: SessionPayload = {
          sid: randomId(),
          uid: user.id,
          by: user.adapter,
          ...(user.providerSession ? { ps: user.providerSession } : {}),
          iat: now,
          seen: now,
        };
        // Keep the user's sessions bounded: the least recently active ones beyond the cap
        // are revoked, not merely unlisted, so no live session is missing from the page.
        const live = await store.indexMembers(indexKey(user.id));
        const evicted = live.slice(Math.max(0, maxSessions - 1));
        const evictedMetas = await Promise.all(
          evicted.map(async (sid) => {
            const old = await readMeta(sid);
            await revokeId(user.id, sid, old?.created);
            return old;
          }),
        );
        const meta: SessionMeta = { uid: user.id, created: now, seen: now };
        if (requestInfo.userAgent) meta.ua = requestInfo.userAgent.slice(0, 256);
        const net = approximateNetwork(requestInfo.ip);
        if (net) meta.net = net;
        if (user.providerSession) meta.ps = user.providerSession;
        await remember(payload.sid, meta, now);
        await ended({
          userId: user.id,
          providerSessions: evictedMetas.flatMap((old) => (old?.ps ? [old.ps] : [])),
          everywhere: false,
        });
        return { setCookie: await commit(payload), session: info(payload) };
      });
    },
    async destroy(request) {
      // The request's own read (already made by the middleware): the cookie is not opened
      // again. A cookie it refused is dead already (expired, revoked or not ours).
      const { session } = await read(request);
      if (session) {
        const { user } = session;
        // Remembered until the cookie would have died anyway, so a copied cookie stays dead (S22).
        await failClosed(() => revokeId(user.id, session.id, session.issuedAt));
        await ended({
          userId: user.id,
          providerSessions: user.providerSession ? [user.providerSession] : [],
          everywhere: false,
        });
      }
      perRequest.delete(request);
      requestScope.getStore()?.clear();
      return clearCookie();
    },
    async revokeAllFor(userId) {
      requestScope.getStore()?.clear();
      await failClosed(async () => {
        await store.set(notBeforeKey(userId), String(clock()), maxAgeMs);
        // The not-before stamp is what ends the sessions; emptying the index only keeps the
        // page from listing them until they expire.
        const sids = await store.indexMembers(indexKey(userId));
        const metas = await Promise.all(sids.map((sid) => readMeta(sid)));
        await Promise.all([
          ...sids.map((sid) => store.delete(metaKey(sid))),
          store.delete(indexKey(userId)),
        ]);
        await ended({
          userId,
          providerSessions: metas.flatMap((meta) => (meta?.ps ? [meta.ps] : [])),
          everywhere: true,
        });
      });
    },
    async list(userId) {
      return failClosed(async () => {
        const sids = await store.indexMembers(indexKey(userId));
        const [notBefore, ...rows] = await Promise.all([
          store.get(notBeforeKey(userId)),
          ...sids.map(async (sid) => {
            const [meta, revoked] = await Promise.all([readMeta(sid), store.get(revokedKey(sid))]);
            return { sid, meta, revoked };
          }),
        ]);
        const cutoff = notBefore === null ? -Infinity : Number(notBefore);
        const sessions: ActiveSession[] = [];
        for (const row of rows as Array<{
          sid: string;
          meta: SessionMeta | null;
          revoked: string | null;
        }>) {
          const { sid, meta, revoked } = row;
          if (!meta || meta.uid !== userId || revoked !== null || meta.created <= cutoff) continue;
          sessions.push({
            handle: handleOf(sid),
            createdAt: meta.created,
            lastSeenAt: meta.seen,
            userAgent: meta.ua,
            network: meta.net,
          });
        }
        return sessions.sort((a, b) => b.lastSeenAt - a.lastSeenAt || b.createdAt - a.createdAt);
      });
    },
    async revoke(userId, handle) {
      requestScope.getStore()?.clear();
      return failClosed(async () => {
        // Only ids in this user's own index are candidates: another user's handle matches none.
        const sids = await store.indexMembers(indexKey(userId));
        const sid = sids.find((candidate) => handleOf(candidate) === handle);
        if (sid === undefined) return false;
        const meta = await readMeta(sid);
        if (meta && meta.uid !== userId) return false;
        await revokeId(userId, sid, meta?.created);
        await ended({ userId, providerSessions: meta?.ps ? [meta.ps] : [], everywhere: false });
        return true;
      });
    },
    clearCookie,
  };
}

/**
 * The network an address belongs to, coarse enough to say "where" without pinning a
 * person: the /24 of an IPv4 address, the /48 of an IPv6 one.
 */
export function approximateNetwork(ip: string | undefined): string | undefined {
  if (!ip) return undefined;
  const version = isIP(ip);
  if (version === 4) return `${ip.split(".").slice(0, 3).join(".")}.0/24`;
  if (version !== 6) return undefined;
  // Stryker disable next-line MethodExpression: equivalent, parseInt reads hex digits in either case
  const [head = "", tail] = ip.toLowerCase().split("::");
  // An empty side holds no groups; [""] would be one group read as 0, shifting nothing that counts.
  // Stryker disable next-line ArrayDeclaration: equivalent, see above
  const front = head ? head.split(":") : [];
  // Stryker disable next-line ArrayDeclaration: equivalent, see above
  const back = tail ? tail.split(":") : [];
  // An embedded IPv4 tail (::ffff:1.2.3.4) takes two groups; only the first three count.
  const missing = Math.max(0, 8 - front.length - back.length);
  const groups =
    // Stryker disable next-line StringLiteral: equivalent, an empty group is read as 0 too
    tail === undefined ? front : [...front, ...Array<string>(missing).fill("0"), ...back];
  const prefix = groups.slice(0, 3).map((g) => (parseInt(g, 16) || 0).toString(16));
  // Stryker disable next-line StringLiteral,CallExpression: unreachable, `groups` always holds three or more
  while (prefix.length < 3) prefix.push("0");
  return `${prefix.join(":")}::/48`;
}
