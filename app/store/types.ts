/**
 * Where one-time secrets, attempt counters, rate limits and revocations live.
 *
 * Every call is async and maps to one command (or one script) on a shared backend such as
 * Redis, so several app instances can share the same state. Nothing here scans all keys.
 * Values are strings; callers serialise. TTLs are in milliseconds and always required:
 * nothing in the store lives forever.
 *
 * A backend that cannot answer (Redis down or slow) rejects with `StoreUnavailableError`
 * (./errors.ts) within its configured timeouts; callers fail closed with a 503.
 */
export interface Store {
  /** The value, or null when absent or expired. */
  get(key: string): Promise<string | null>;
  /**
   * Several values in one call (one command, one query), in the order of `keys`; null for
   * each absent or expired one. What a protected request reads, it reads with one of these.
   */
  getMany(keys: readonly string[]): Promise<Array<string | null>>;
  /** Set (overwrite) a value that expires after `ttlMs`. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /**
   * Atomically get and delete. Of any number of concurrent `take`s of one key, exactly one
   * sees the value; the others see null. This is what makes secrets single use (S3).
   */
  take(key: string): Promise<string | null>;
  delete(key: string): Promise<void>;
  /**
   * Atomically add one and return the new count. The expiry is set when the counter is
   * created (a fixed window) and not extended by later increments.
   */
  increment(key: string, ttlMs: number): Promise<number>;
  /**
   * Atomically add `by` (a whole number; negative gives points back) to the counter at
   * `key` and return its count and the ms left in its window (a budget's Retry-After).
   * A positive `by` on an absent or expired counter starts it at `by`, expiring after `ttlMs`
   * (a fixed window, as `increment`); `by` ≤ 0 never creates one, so `by = 0` reads a
   * counter without writing and an absent one answers `{ count: 0, ttlMs: 0 }`. Shares its
   * counters with `increment`. The sign-in limits (app/auth/limits.server.ts) run on this.
   */
  counter(key: string, by: number, ttlMs: number): Promise<Counter>;
  /**
   * Spend one point of each budget, in order, as one atomic step (one transaction, one Lua
   * script): each counter is added one as `counter(key, 1, ttlMs)` would; at the first whose
   * count then passes its `points`, the points the earlier ones took in this step are given
   * back (as `counter(key, -1, …)`) and the step ends there. The refusing counter keeps its
   * point, as a refused `counter` call does (its window is spent anyway). Answers the
   * counters reached (up to and including a refusing one) and the refusing one's index.
   * Concurrent calls never see another's points half given back. The send limits run on it.
   */
  spend(budgets: readonly Budget[]): Promise<Spent>;
  /**
   * Several `set`s as one atomic step (one transaction, one MULTI): all are written or
   * none, in one round trip. For records written together (a sign-in's record and its
   * link's index).
   */
  setMany(entries: readonly { key: string; value: string; ttlMs: number }[]): Promise<void>;
  /** Several `delete`s as one step (one transaction, one DEL); absent keys are no-ops. */
  deleteMany(keys: readonly string[]): Promise<void>;
  /**
   * Atomically: when the value at `key` is exactly `expected` (and live), delete it and
   * write `entries` as `setMany` would, and answer true; otherwise change nothing and answer
   * false. Of concurrent `swap`s of one key, at most one answers true: single use (S3) with
   * the record of that use written in the same step (one transaction, one Lua script), and
   * a value that changed since it was read (a newer sign-in) is never consumed.
   */
  swap(
    key: string,
    expected: string,
    entries: readonly { key: string; value: string; ttlMs: number }[],
  ): Promise<boolean>;
  /**
   * Add `member` to the index at `key` (a set ordered by expiry), or move its expiry to
   * `expiresAtMs` (epoch ms) if already there. In the same atomic step, members whose expiry
   * has passed are dropped and only the `maxMembers` with the latest expiry are kept, so an
   * index stays bounded however many members are added. The key itself expires with its
   * latest member. Used for a user's active sessions.
   */
  indexAdd(key: string, member: string, expiresAtMs: number, maxMembers: number): Promise<void>;
  /** The members not yet expired, latest expiry first (ties: member descending). */
  indexMembers(key: string): Promise<string[]>;
  /** Remove one member; a no-op when absent. */
  indexRemove(key: string, member: string): Promise<void>;
  /** Resolves when the backend answers; rejects otherwise (for /healthz). */
  ping(): Promise<void>;
  /** Release connections and timers. */
  close(): Promise<void>;
}

/** A fixed-window counter: its count, and the ms until its window ends (0 when absent). */
export interface Counter {
  count: number;
  ttlMs: number;
}

/** One budget of a {@link Store.spend}: at most `points` per window of `ttlMs` at `key`. */
export interface Budget {
  key: string;
  points: number;
  ttlMs: number;
}

/** What a {@link Store.spend} did. */
export interface Spent {
  /** Each counter reached, in the budgets' order, up to and including a refusing one. */
  counters: Counter[];
  /** The index of the budget that refused (its count passed its points), if one did. */
  refused?: number;
}
