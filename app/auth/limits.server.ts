import { isIP } from "node:net";
import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis } from "rate-limiter-flexible";
import { sha256Hex } from "../lib/crypto.server";
import { StoreUnavailableError } from "../store/errors";
import { DEFAULT_CONNECT_TIMEOUT_MS, firstConnection } from "../store/redis.server";

/** What a limit says about one attempt. `retryAfterSeconds` is at least 1. */
export type LimitDecision =
  | { allowed: true }
  | {
      allowed: false;
      retryAfterSeconds: number;
      reason: "email_spacing" | "email_hourly" | "ip" | "locked";
    };

/**
 * The sign-in abuse limits (S10–S12). Counters live in the store (memory or Redis), never in
 * a cookie the client could clear (S10). A refusal must not change the response the person
 * sees (S13): callers answer as if accepted and simply send nothing.
 *
 * Every method rejects with `StoreUnavailableError` when Redis cannot answer: fail closed,
 * the caller answers 503 "try again shortly" and neither sends nor verifies.
 */
export interface SignInLimits {
  /**
   * Before sending a sign-in email: per email ≥ `emailSpacingSeconds` between sends and
   * ≤ `emailPerHour` an hour, per client IP its own hourly budget (S11). Consumes budget
   * only when allowed: a refused attempt costs the other budgets nothing.
   */
  allowSend(email: string, ip: string | undefined, options?: SendOptions): Promise<LimitDecision>;
  /**
   * Before verifying a proof: the client IP's budget of verify attempts, and whether the
   * email is locked out (`lockoutFailures` consecutive failures within the window, S10).
   * A locked address is refused without spending the IP's budget.
   */
  allowVerify(email: string | undefined, ip: string | undefined): Promise<LimitDecision>;
  /** A verify for this email failed (wrong, expired or used code or link). */
  recordFailure(email: string): Promise<void>;
  /** A verify for this email succeeded: clears its consecutive-failure count. */
  recordSuccess(email: string): Promise<void>;
}

export interface SendOptions {
  /**
   * Skip the spacing between sends (the hourly and per-IP budgets still apply). For "email
   * me a code instead" right after a mail scanner used the link: seconds after the first
   * email by design, and refusing it would leave the person with a dead link.
   */
  skipSpacing?: boolean;
}

export interface SignInLimitsOptions {
  /**
   * Where the counters live. `memory` is per process; with several instances use `redis`,
   * ideally the store's own client (`createRedisClient`, app/store/redis.server.ts), so the
   * limits share its bounded timeouts: a limit that cannot be checked fails closed.
   */
  backend: { kind: "memory" } | { kind: "redis"; client: Redis };
  /** Key prefix, the same as the store's. Default `"pls:"`. */
  prefix?: string;
  /** Per client IP, per hour: sends, and separately verify attempts. Default 100. */
  ipPerHour?: number;
  /** Least time between two sends to one address, in whole seconds; 0 turns it off. Default 60. */
  emailSpacingSeconds?: number;
  /** Sends to one address per window. Default 5. */
  emailPerHour?: number;
  /** Consecutive failures that lock an address. Default 100 (NIST 800-63B §5.2.2). */
  lockoutFailures?: number;
  /** How long failures count toward a lockout, from the first one, in seconds. Default 24 h. */
  lockoutWindowSeconds?: number;
  /** Length of the "hourly" windows in seconds (tests shorten it). Default 3600. */
  hourSeconds?: number;
}

type Limiter = RateLimiterMemory | RateLimiterRedis;

/**
 * The sign-in limits on `rate-limiter-flexible` (fixed windows; its Redis backend runs each
 * consume as one Lua script, so instances sharing a Redis share every budget). Keys hold
 * SHA-256 digests, never a raw address or IP.
 */
export function createSignInLimits(options: SignInLimitsOptions): SignInLimits {
  const prefix = options.prefix ?? "pls:";
  const hour = whole("hourSeconds", options.hourSeconds ?? 3600, 1);
  const ipPerHour = whole("ipPerHour", options.ipPerHour ?? 100, 1);
  const spacingSeconds = whole("emailSpacingSeconds", options.emailSpacingSeconds ?? 60, 0);
  const emailPerHour = whole("emailPerHour", options.emailPerHour ?? 5, 1);
  const lockoutFailures = whole("lockoutFailures", options.lockoutFailures ?? 100, 1);
  const lockoutWindow = whole("lockoutWindowSeconds", options.lockoutWindowSeconds ?? 86_400, 1);

  const limiter = (name: string, points: number, duration: number): Limiter => {
    const keyPrefix = `${prefix}rl:${name}`;
    if (options.backend.kind === "memory") {
      return new RateLimiterMemory({ keyPrefix, points, duration });
    }
    return new RateLimiterRedis({
      storeClient: options.backend.client,
      keyPrefix,
      points,
      duration,
      // Not connected: refuse at once instead of waiting (the client has no offline queue).
      rejectIfRedisNotReady: true,
    });
  };

  const backend = options.backend;
  /** A fresh client may still be connecting at start-up; wait for that, not for reconnects. */
  const connected = async () => {
    if (backend.kind === "redis") await firstConnection(backend.client, DEFAULT_CONNECT_TIMEOUT_MS);
  };

  const spacing = spacingSeconds > 0 ? limiter("send:spacing", 1, spacingSeconds) : undefined;
  const emailHourly = limiter("send:email", emailPerHour, hour);
  const ipSends = limiter("send:ip", ipPerHour, hour);
  const ipVerifies = limiter("verify:ip", ipPerHour, hour);
  // Counted with penalty() and read with get(), so its points are only a ceiling.
  const failures = limiter("verify:failures", lockoutFailures, lockoutWindow);

  /** The refusal for an address locked by consecutive failures, or undefined. */
  const lockedFor = async (email: string): Promise<Refusal | undefined> => {
    const [count] = await settle([failures.get(hashEmail(email))]);
    return count && count.consumedPoints >= lockoutFailures
      ? refusal("locked", count.msBeforeNext)
      : undefined;
  };

  return {
    async allowSend(email, ip, sendOptions = {}) {
      await connected();
      // A locked address gets no mail either (S10, S13): its codes could not be used, and
      // the answer stays the same as for an accepted request.
      const lock = await lockedFor(email);
      if (lock) return lock;
      const emailKey = hashEmail(email);
      const steps: Array<[Limiter, string, Refusal["reason"]]> = [];
      if (spacing && !sendOptions.skipSpacing) steps.push([spacing, emailKey, "email_spacing"]);
      steps.push([emailHourly, emailKey, "email_hourly"]);
      const ipKey = hashIp(ip);
      if (ipKey) steps.push([ipSends, ipKey, "ip"]);

      // Consume in turn; each consume is atomic (one script on Redis), so of concurrent
      // sends to one address exactly one passes the spacing. When a later budget refuses,
      // give back what the earlier ones took, so a refusal costs nothing.
      const taken: Array<[Limiter, string]> = [];
      for (const [budget, key, reason] of steps) {
        const refusedForMs = await consume(budget, key);
        if (refusedForMs !== undefined) {
          await settle(taken.map(([l, k]) => l.reward(k, 1)));
          return refusal(reason, refusedForMs);
        }
        taken.push([budget, key]);
      }
      return { allowed: true };
    },

    async allowVerify(email, ip) {
      await connected();
      if (email !== undefined) {
        const lock = await lockedFor(email);
        if (lock) return lock;
      }
      const ipKey = hashIp(ip);
      if (ipKey) {
        const refusedForMs = await consume(ipVerifies, ipKey);
        if (refusedForMs !== undefined) return refusal("ip", refusedForMs);
      }
      return { allowed: true };
    },

    async recordFailure(email) {
      await connected();
      // The window starts at the first failure and is not extended (fixed window): after
      // `lockoutWindowSeconds` without reaching the limit the count starts over.
      await settle([failures.penalty(hashEmail(email), 1)]);
    },

    async recordSuccess(email) {
      await connected();
      await settle([failures.delete(hashEmail(email))]);
    },
  };
}

type Refusal = Extract<LimitDecision, { allowed: false }>;

function refusal(reason: Refusal["reason"], msBeforeNext: number): Refusal {
  return { allowed: false, reason, retryAfterSeconds: Math.max(1, Math.ceil(msBeforeNext / 1000)) };
}

/**
 * One point from `key`'s budget: undefined when allowed, else the ms until it refills.
 * rate-limiter-flexible rejects with a result object when over the limit and with an Error
 * when the store failed; the latter fails closed.
 */
async function consume(limiter: Limiter, key: string): Promise<number | undefined> {
  try {
    await limiter.consume(key, 1);
    return undefined;
  } catch (error) {
    if (error instanceof Error || typeof error !== "object" || error === null) {
      throw unavailable(error);
    }
    return (error as { msBeforeNext: number }).msBeforeNext;
  }
}

async function settle<T>(calls: Array<Promise<T>>): Promise<T[]> {
  try {
    return await Promise.all(calls);
  } catch (error) {
    throw unavailable(error);
  }
}

function unavailable(cause: unknown): StoreUnavailableError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new StoreUnavailableError(`Rate limit store failed: ${message}`, { cause });
}

function whole(name: string, value: number, min: number): number {
  // rate-limiter-flexible's Redis backend rounds windows down to whole seconds, and a
  // window of 0 would never expire there: refuse such settings at start-up.
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer ≥ ${min}, got ${value}`);
  }
  return value;
}

/** Keys never hold the address itself: a dump of Redis lists no one's email. */
function hashEmail(email: string): string {
  return sha256Hex(`email:${email.normalize("NFKC").trim().toLowerCase()}`);
}

/**
 * The IP's budget key, or undefined when the IP is unknown. An unknown IP gets no IP budget
 * rather than one shared by everyone, which would let one client exhaust it for all; the
 * per-email limits still apply. IPv6 addresses share their /64: one subscriber usually holds
 * a whole /64 and could rotate through it to escape a per-address budget (S12).
 */
function hashIp(ip: string | undefined): string | undefined {
  const parsed = parseIp(ip);
  if (parsed === undefined) return undefined;
  const bucket = isIP(parsed) === 6 ? `${expandIPv6(parsed).slice(0, 4).join(":")}::/64` : parsed;
  return sha256Hex(`ip:${bucket}`);
}

/**
 * The client's IP address (S12). `X-Forwarded-For` is trusted for exactly `trustProxy`
 * hops, counted from the right of the combined header: each trusted proxy appends the
 * address it received the request from, so the `trustProxy`-th entry from the right is the
 * address the outermost trusted proxy saw. Entries further left are whatever the client
 * wrote and are ignored. With fewer entries than hops, the leftmost one is used.
 *
 * With `trustProxy` 0 the header is ignored entirely and `socketIp` is the answer (undefined
 * when not known). react-router-serve gives loaders and actions no socket address, so in
 * production run behind a proxy that sets `X-Forwarded-For` and set TRUST_PROXY to the
 * number of proxies. A malformed address yields undefined, never a string to key by.
 */
export function clientIp(
  request: Request,
  trustProxy: number,
  socketIp?: string,
): string | undefined {
  const hops = Math.max(0, Math.floor(trustProxy));
  if (hops === 0) return parseIp(socketIp);
  // Several X-Forwarded-For lines arrive here joined with ", ", in order.
  const header = request.headers.get("x-forwarded-for") ?? "";
  const entries = header
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  // No header: the request did not come through the proxy; its peer is all we know.
  if (entries.length === 0) return parseIp(socketIp);
  return parseIp(entries[Math.max(0, entries.length - hops)]);
}

/** A canonical IP string from the forms proxies write, or undefined. */
function parseIp(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let ip = value.trim();
  if (ip.length === 0 || ip.length > 64) return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(ip); // [v6] or [v6]:port
  if (bracketed) ip = bracketed[1] ?? "";
  else if (/^[\d.]+:\d{1,5}$/.test(ip)) ip = ip.slice(0, ip.lastIndexOf(":")); // v4:port
  ip = ip.replace(/%[\w.-]+$/, "").toLowerCase(); // an IPv6 zone id is local noise
  const version = isIP(ip);
  if (version === 4) return ip;
  if (version !== 6) return undefined;
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (mapped && isIP(mapped[1] ?? "") === 4) return mapped[1];
  return ip;
}

/** Eight four-digit hextets of a valid IPv6 address. */
function expandIPv6(ip: string): string[] {
  let text = ip;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const zeros = tail === undefined ? [] : Array(8 - left.length - right.length).fill("0");
  return [...left, ...zeros, ...right].map((h) => h.padStart(4, "0"));
}
