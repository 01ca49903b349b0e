import { systemClock, type Clock } from "../lib/clock";
import { checkedBudgets, checkedTtl } from "./common.server";
import type { Budget, Counter, Spent, Store } from "./types";

interface Entry {
  /** A string value, or an index: member → expiry (epoch ms). */
  value: string | Map<string, number>;
  expiresAt: number;
}

export interface MemoryStoreOptions {
  clock?: Clock;
  /** How often expired entries are swept, in ms (0 disables the timer; tests sweep by hand). */
  sweepIntervalMs?: number;
}

/**
 * The embedded default: one process, no set-up. Expired entries are dropped when read and
 * swept on a timer, so the map cannot grow without bound however many sign-ins start.
 * Several instances cannot share it: use the Redis store for that.
 */
export class MemoryStore implements Store {
  readonly #entries = new Map<string, Entry>();
  readonly #clock: Clock;
  readonly #timer?: ReturnType<typeof setInterval>;

  constructor(options: MemoryStoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    const every = options.sweepIntervalMs ?? 30_000;
    if (every > 0) {
      this.#timer = setInterval(() => this.sweep(), every);
      this.#timer.unref();
    }
  }

  /** Number of live and not-yet-swept entries (for tests and the benchmark). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Every live entry as `[key, value]`, an index as its members joined by spaces. For tests
   * that read the whole store (S5: no secret at rest) and for debugging; never on a request.
   */
  dump(): Array<[string, string]> {
    const now = this.#clock();
    const out: Array<[string, string]> = [];
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) continue;
      out.push([
        key,
        typeof entry.value === "string" ? entry.value : [...entry.value.keys()].join(" "),
      ]);
    }
    return out;
  }

  /** Drop every expired entry. */
  sweep(): void {
    const now = this.#clock();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key);
    }
  }

  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#clock()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  async get(key: string): Promise<string | null> {
    const value = this.#live(key)?.value;
    return typeof value === "string" ? value : null;
  }

  async getMany(keys: readonly string[]): Promise<Array<string | null>> {
    return keys.map((key) => {
      const value = this.#live(key)?.value;
      return typeof value === "string" ? value : null;
    });
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    checkedTtl(ttlMs);
    this.#put(key, value, ttlMs);
  }

  #put(key: string, value: string, ttlMs: number): void {
    // Re-insert so the Map's order stays roughly by write time.
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: this.#clock() + ttlMs });
  }

  async take(key: string): Promise<string | null> {
    // No await between the read and the delete: atomic within this process.
    const entry = this.#live(key);
    if (entry === undefined || typeof entry.value !== "string") return null;
    this.#entries.delete(key);
    return entry.value;
  }

  async delete(key: string): Promise<void> {
    this.#entries.delete(key);
  }

  async increment(key: string, ttlMs: number): Promise<number> {
    checkedTtl(ttlMs);
    const entry = this.#live(key);
    if (entry === undefined || typeof entry.value !== "string") {
      this.#entries.set(key, { value: "1", expiresAt: this.#clock() + ttlMs });
      return 1;
    }
    const next = Number(entry.value) + 1;
    entry.value = String(next);
    return next;
  }

  async counter(key: string, by: number, ttlMs: number): Promise<Counter> {
    checkedTtl(ttlMs);
    assertBy(by);
    return this.#add(key, by, ttlMs);
  }

  /** `counter`'s step, synchronous so that `spend` can run several as one. */
  #add(key: string, by: number, ttlMs: number): Counter {
    const now = this.#clock();
    const entry = this.#live(key);
    if (entry === undefined || typeof entry.value !== "string") {
      if (by <= 0) return { count: 0, ttlMs: 0 };
      this.#entries.set(key, { value: String(by), expiresAt: now + ttlMs });
      return { count: by, ttlMs };
    }
    const next = Number(entry.value) + by;
    entry.value = String(next);
    return { count: next, ttlMs: entry.expiresAt - now };
  }

  async spend(budgets: readonly Budget[]): Promise<Spent> {
    const checked = checkedBudgets(budgets);
    // No await inside: atomic within this process.
    const counters: Counter[] = [];
    for (const [i, budget] of checked.entries()) {
      const counter = this.#add(budget.key, 1, budget.ttlMs);
      counters.push(counter);
      if (counter.count > budget.points) {
        for (const earlier of checked.slice(0, i)) this.#add(earlier.key, -1, earlier.ttlMs);
        return { counters, refused: i };
      }
    }
    return { counters };
  }

  async setMany(entries: readonly { key: string; value: string; ttlMs: number }[]): Promise<void> {
    for (const { ttlMs } of entries) checkedTtl(ttlMs);
    // No await between them: all are written in one step.
    for (const { key, value, ttlMs } of entries) this.#put(key, value, ttlMs);
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.#entries.delete(key);
  }

  async swap(
    key: string,
    expected: string,
    entries: readonly { key: string; value: string; ttlMs: number }[],
  ): Promise<boolean> {
    for (const { ttlMs } of entries) checkedTtl(ttlMs);
    // No await between the comparison, the delete and the writes: one step in this process.
    if (this.#live(key)?.value !== expected) return false;
    this.#entries.delete(key);
    for (const { key: other, value, ttlMs } of entries) this.#put(other, value, ttlMs);
    return true;
  }

  async indexAdd(
    key: string,
    member: string,
    expiresAtMs: number,
    maxMembers: number,
  ): Promise<void> {
    assertMax(maxMembers);
    const now = this.#clock();
    const existing = this.#live(key)?.value;
    const members = existing instanceof Map ? existing : new Map<string, number>();
    members.set(member, expiresAtMs);
    let latest = -Infinity;
    for (const [name, expiresAt] of members) {
      if (expiresAt <= now) members.delete(name);
      else if (expiresAt > latest) latest = expiresAt;
    }
    // Usually one over the limit, so dropping the earliest one at a time stays O(members).
    while (members.size > maxMembers) {
      let earliest: [string, number] | undefined;
      for (const pair of members) {
        if (earliest === undefined || compare(pair, earliest) < 0) earliest = pair;
      }
      if (earliest) members.delete(earliest[0]);
    }
    if (members.size === 0) {
      this.#entries.delete(key);
      return;
    }
    this.#entries.delete(key);
    this.#entries.set(key, { value: members, expiresAt: latest });
  }

  async indexMembers(key: string): Promise<string[]> {
    const members = this.#live(key)?.value;
    if (!(members instanceof Map)) return [];
    const now = this.#clock();
    return [...members]
      .filter(([, expiresAt]) => expiresAt > now)
      .sort((a, b) => compare(b, a))
      .map(([name]) => name);
  }

  async indexRemove(key: string, member: string): Promise<void> {
    const members = this.#live(key)?.value;
    if (!(members instanceof Map)) return;
    members.delete(member);
    if (members.size === 0) this.#entries.delete(key);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#entries.clear();
  }
}

/** Order index members as Redis orders a sorted set: by expiry, then by member. */
function compare(a: [string, number], b: [string, number]): number {
  if (a[1] !== b[1]) return a[1] - b[1];
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

function assertMax(maxMembers: number): void {
  if (!Number.isInteger(maxMembers) || maxMembers <= 0) {
    throw new RangeError(`maxMembers must be a positive integer, got ${maxMembers}`);
  }
}

function assertBy(by: number): void {
  if (!Number.isSafeInteger(by)) throw new RangeError(`by must be a whole number, got ${by}`);
}
