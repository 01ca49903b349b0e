import { isIP } from "node:net";
import { systemClock, type Clock } from "../lib/clock";
import { sha256Hex } from "../lib/crypto.server";
import { isStoreUnavailableError, StoreUnavailableError } from "../store/errors";
import type { Store } from "../store/types";

/** What a limit says about one attempt. `retryAfterSeconds` is at least 1. */
export type LimitDecision =
  | {
      allowed: true;
      /** From `allowSend`: the windows its budgets were spent in, for `refundSend`. */
      spent?: SpentBudgets;
    }
  | {
      allowed: false;
      retryAfterSeconds: number;
      reason: "email_spacing" | "email_hourly" | "ip" | "locked";
    };

/**
 * Which windows a send's budgets were spent in: each budget's name, and when its window
 * ends (epoch ms). A refund gives a point back only to the window that took it (S32).
 */
export type SpentBudgets = Record<string, number>;

/**
 * The sign-in abuse limits (S10–S12). Counters live in the app's store (SQLite, Redis or
 * memory), never in a cookie the client could clear (S10), so they survive a restart with it. A refusal must not change the response the person
 * sees (S13): callers answer as if accepted and simply send nothing.
 *
 * Every method rejects with `StoreUnavailableError` when the store cannot answer: fail closed,
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
  /**
   * A verify for this email succeeded: clears its consecutive-failure count and the spacing
   * between sends, so that signing out and straight back in sends a fresh email (S32).
   */
  recordSuccess(email: string): Promise<void>;
  /**
   * A send `allowSend` allowed did not happen (its email could not be queued, or its
   * delivery failed for good): give back the spacing (unless it was skipped), the hourly
   * and the per-IP budget it took, so that a failure costs the person nothing (S32). With
   * `spent` (the allowing decision's), only into the windows that took them: a window that
   * has ended since holds none of this send's points.
   */
  refundSend(email: string, ip: string | undefined, options?: RefundOptions): Promise<void>;
}

export interface RefundOptions extends SendOptions {
  /** The allowing decision's `spent`. Without it every budget gets its point back. */
  spent?: SpentBudgets;
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
   * Where the counters live: the app's own store, so each backend has one source of truth
   * (docs/decisions/0009-sqlite-default-store.md). Several instances share the limits
   * exactly when they share the store (Redis).
   */
  store: Store;
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
  /** The store's clock: when a window ends, for refunds. Default: the system clock. */
  clock?: Clock;
}

/** One fixed-window budget: `points` per `windowMs`, counted under `rl:<name>:<hash>`. */
interface Budget {
  name: string;
  points: number;
  windowMs: number;
}

/**
 * The sign-in limits as fixed-window counters in the store (`Store.counter`: one atomic
 * step per call on every backend, so instances sharing a Redis share every budget). Keys
 * hold SHA-256 digests, never a raw address or IP.
 */
export function createSignInLimits(options: SignInLimitsOptions): SignInLimits {
  const { store } = options;
  const clock = options.clock ?? systemClock;
  const hour = whole("hourSeconds", options.hourSeconds ?? 3600, 1);
  const ipPerHour = whole("ipPerHour", options.ipPerHour ?? 100, 1);
  const spacingSeconds = whole("emailSpacingSeconds", options.emailSpacingSeconds ?? 60, 0);
  const emailPerHour = whole("emailPerHour", options.emailPerHour ?? 5, 1);
  const lockoutFailures = whole("lockoutFailures", options.lockoutFailures ?? 100, 1);
  const lockoutWindow = whole("lockoutWindowSeconds", options.lockoutWindowSeconds ?? 86_400, 1);

  const budget = (name: string, points: number, seconds: number): Budget => ({
    name,
    points,
    windowMs: seconds * 1000,
  });
  const spacing = spacingSeconds > 0 ? budget("send:spacing", 1, spacingSeconds) : undefined;
  const emailHourly = budget("send:email", emailPerHour, hour);
  const ipSends = budget("send:ip", ipPerHour, hour);
  const ipVerifies = budget("verify:ip", ipPerHour, hour);
  // Counted one per failure and read without spending, so its points are only the threshold.
  const failures = budget("verify:failures", lockoutFailures, lockoutWindow);
  const keyOf = (b: Budget, hash: string) => `rl:${b.name}:${hash}`;

  /** Add `by` to one budget's counter; a store failure fails closed. */
  const add = (b: Budget, hash: string, by: number) =>
    guard(() => store.counter(keyOf(b, hash), by, b.windowMs));

  /**
   * Spend one point: whether that was allowed, and the ms until the window ends. A refused
   * attempt still counts (the counter only grows until its window ends), which is harmless:
   * the budget is already spent for that window.
   */
  const consume = async (b: Budget, hash: string) => {
    const { count, ttlMs } = await add(b, hash, 1);
    return { refused: count > b.points, ttlMs };
  };

  /**
   * Give back the point a send spent on one budget, if the counter's current window is the
   * one that took it (`endsAt` from the receipt; undefined: no receipt, give it back). Two
   * windows of one counter end at least a whole window apart, so half of one tells them
   * apart whatever the store's latency or the instances' clock skew. A window with under a
   * second (or a quarter of its length) left is left alone: it could end, and a new one
   * start, between the read and the give-back, which would then go to the wrong window.
   * A counter at zero gets nothing, receipt or not: below zero it would be a send more than
   * the budget.
   */
  const giveBack = async (b: Budget, hash: string, endsAt: number | undefined) => {
    const { count, ttlMs } = await add(b, hash, 0);
    if (count <= 0) return;
    if (endsAt !== undefined) {
      if (ttlMs < Math.min(REFUND_MARGIN_MS, b.windowMs / 4)) return;
      if (Math.abs(clock() + ttlMs - endsAt) > b.windowMs / 2) return;
    }
    await add(b, hash, -1);
  };

  /** The refusal for an address locked by consecutive failures, or undefined. */
  const lockedFor = async (email: string): Promise<Refusal | undefined> => {
    const { count, ttlMs } = await add(failures, hashEmail(email), 0);
    return count >= lockoutFailures ? refusal("locked", ttlMs) : undefined;
  };

  return {
    async allowSend(email, ip, sendOptions = {}) {
      // A locked address gets no mail either (S10, S13): its codes could not be used, and
      // the answer stays the same as for an accepted request.
      const lock = await lockedFor(email);
      if (lock) return lock;
      const emailKey = hashEmail(email);
      const steps: Array<[Budget, string, Refusal["reason"]]> = [];
      if (spacing && !sendOptions.skipSpacing) steps.push([spacing, emailKey, "email_spacing"]);
      steps.push([emailHourly, emailKey, "email_hourly"]);
      const ipKey = hashIp(ip);
      if (ipKey) steps.push([ipSends, ipKey, "ip"]);

      // One atomic step for every budget (Store.spend): of concurrent sends to one address
      // exactly one passes the spacing, and when a later budget refuses, the points the
      // earlier ones took are given back in the same step, so a refusal costs nothing.
      const { counters, refused } = await guard(() =>
        store.spend(
          steps.map(([b, key]) => ({ key: keyOf(b, key), points: b.points, ttlMs: b.windowMs })),
        ),
      );
      if (refused !== undefined) {
        const [, , reason] = steps[refused] as (typeof steps)[number];
        return refusal(reason, counters[refused]?.ttlMs ?? 0);
      }
      const now = clock();
      const spent: SpentBudgets = {};
      steps.forEach(([b], i) => (spent[b.name] = now + (counters[i]?.ttlMs ?? 0)));
      return { allowed: true, spent };
    },

    async allowVerify(email, ip) {
      if (email !== undefined) {
        const lock = await lockedFor(email);
        if (lock) return lock;
      }
      const ipKey = hashIp(ip);
      if (ipKey) {
        const { refused, ttlMs } = await consume(ipVerifies, ipKey);
        if (refused) return refusal("ip", ttlMs);
      }
      return { allowed: true };
    },

    async recordFailure(email) {
      // The window starts at the first failure and is not extended (fixed window): after
      // `lockoutWindowSeconds` without reaching the limit the count starts over.
      await add(failures, hashEmail(email), 1);
    },

    async recordSuccess(email) {
      const key = hashEmail(email);
      // One step (one transaction, one DEL) for both.
      await guard(() =>
        store.deleteMany([keyOf(failures, key), ...(spacing ? [keyOf(spacing, key)] : [])]),
      );
    },

    async refundSend(email, ip, refund = {}) {
      // One point back on each budget allowSend took, into the window that took it: a
      // delivery can fail minutes after its request, when that window may have ended and
      // another begun, whose sends this one never counted in.
      const { spent } = refund;
      const taken = (b: Budget) => spent === undefined || b.name in spent;
      const emailKey = hashEmail(email);
      const ipKey = hashIp(ip);
      const budgets: Array<[Budget, string]> = [[emailHourly, emailKey]];
      if (spacing && !refund.skipSpacing) budgets.push([spacing, emailKey]);
      if (ipKey) budgets.push([ipSends, ipKey]);
      await Promise.all(
        budgets.filter(([b]) => taken(b)).map(([b, key]) => giveBack(b, key, spent?.[b.name])),
      );
    },
  };
}

type Refusal = Extract<LimitDecision, { allowed: false }>;

/** A window this close to its end (at most) gets no refund (see `giveBack`). */
const REFUND_MARGIN_MS = 1_000;

function refusal(reason: Refusal["reason"], msBeforeNext: number): Refusal {
  return { allowed: false, reason, retryAfterSeconds: Math.max(1, Math.ceil(msBeforeNext / 1000)) };
}

/** Run one store call; anything but a RangeError (a bug) fails closed as unavailable. */
async function guard<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isStoreUnavailableError(error) || error instanceof RangeError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new StoreUnavailableError(`Rate limit store failed: ${message}`, { cause: error });
  }
}

function whole(name: string, value: number, min: number): number {
  // Windows are whole seconds, as the configuration gives them; a window of 0 would be a
  // counter that never expires: refuse such settings at start-up.
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer ≥ ${min}, got ${value}`);
  }
  return value;
}

/** Keys never hold the address itself: a dump of the store lists no one's email. */
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
