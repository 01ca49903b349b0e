import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Store } from "../../app/store/types";

/** One fresh, empty store per test, and a way to let time pass for it. */
export interface StoreHarness {
  store: Store;
  /** The store's notion of now (epoch ms), for absolute index expiries. */
  now(): number;
  /** Let `ms` pass: an injected clock moves, or the test really waits (Redis). */
  advance(ms: number): Promise<void>;
  /** Release anything the factory made beyond `store.close()`. */
  dispose?(): Promise<void>;
}

/**
 * Short enough that the Redis run can really wait; long enough that a slow machine does not
 * cross it between two calls meant to see the value.
 */
const TTL = 300;

/**
 * The Store contract (app/store/types.ts). Every backend runs this same suite; each test
 * gets a fresh store from `factory`, so order never matters.
 */
export function runStoreContract(name: string, factory: () => Promise<StoreHarness>): void {
  describe(`Store contract: ${name}`, () => {
    let h: StoreHarness;
    let store: Store;

    beforeEach(async () => {
      h = await factory();
      store = h.store;
    });

    afterEach(async () => {
      await store.close();
      await h.dispose?.();
    });

    describe("get / set / delete", () => {
      it("returns null for a key never set", async () => {
        expect(await store.get("absent")).toBeNull();
      });

      it("returns what was set, and the last value when set twice", async () => {
        await store.set("k", "one", 60_000);
        expect(await store.get("k")).toBe("one");
        await store.set("k", "two", 60_000);
        expect(await store.get("k")).toBe("two");
      });

      it("keeps arbitrary strings intact", async () => {
        const value = JSON.stringify({ email: "zoë@example.com", n: 1, s: "a\r\nb\u0000c" });
        await store.set("json", value, 60_000);
        expect(await store.get("json")).toBe(value);
      });

      it("expires a value after its TTL, not before", async () => {
        await store.set("k", "v", TTL);
        await h.advance(TTL / 3);
        expect(await store.get("k")).toBe("v");
        await h.advance(TTL);
        expect(await store.get("k")).toBeNull();
      });

      it("restarts the TTL when a key is set again", async () => {
        await store.set("k", "v1", TTL);
        await h.advance((TTL * 2) / 3);
        await store.set("k", "v2", TTL);
        await h.advance((TTL * 2) / 3);
        expect(await store.get("k")).toBe("v2");
      });

      it("rejects a missing, zero or negative TTL (nothing lives forever)", async () => {
        await expect(store.set("k", "v", 0)).rejects.toThrow(RangeError);
        await expect(store.set("k", "v", -5)).rejects.toThrow(RangeError);
        await expect(store.set("k", "v", Number.NaN)).rejects.toThrow(RangeError);
        await expect(store.increment("c", 0)).rejects.toThrow(RangeError);
        expect(await store.get("k")).toBeNull();
      });

      it("deletes a key, and deleting an absent key is fine", async () => {
        await store.set("k", "v", 60_000);
        await store.delete("k");
        expect(await store.get("k")).toBeNull();
        await expect(store.delete("never")).resolves.toBeUndefined();
      });
    });

    describe("getMany: several values in one call", () => {
      it("answers in the order asked, null for absent keys, and repeats a key asked twice", async () => {
        await store.set("a", "1", 60_000);
        await store.set("c", "3", 60_000);
        expect(await store.getMany(["c", "b", "a", "c"])).toEqual(["3", null, "1", "3"]);
        expect(await store.getMany([])).toEqual([]);
        expect(await store.getMany(["nothing"])).toEqual([null]);
      });

      it("answers hundreds of keys at once, each in its place", async () => {
        for (const count of [500, 501, 1_200]) {
          const keys = Array.from({ length: count }, (_, i) => `many:${count}:${i}`);
          await store.setMany(
            keys.filter((_, i) => i % 7 === 3).map((key) => ({ key, value: key, ttlMs: 60_000 })),
          );
          expect(await store.getMany(keys)).toEqual(
            keys.map((key, i) => (i % 7 === 3 ? key : null)),
          );
        }
      });

      it("leaves out values past their TTL and counters, sees them as get does", async () => {
        await store.set("short", "v", TTL);
        await store.set("long", "w", 60_000);
        await store.increment("count", 60_000);
        expect(await store.getMany(["short", "long", "count"])).toEqual(["v", "w", "1"]);
        await h.advance(TTL * 1.5);
        expect(await store.getMany(["short", "long"])).toEqual([null, "w"]);
        expect(await store.get("short")).toBeNull();
      });
    });

    describe("S3 take: atomic single use", () => {
      it("returns the value once, then null", async () => {
        await store.set("secret", "v", 60_000);
        expect(await store.take("secret")).toBe("v");
        expect(await store.take("secret")).toBeNull();
        expect(await store.get("secret")).toBeNull();
      });

      it("returns null for an absent or expired key", async () => {
        expect(await store.take("absent")).toBeNull();
        await store.set("short", "v", TTL);
        await h.advance(TTL + 100);
        expect(await store.take("short")).toBeNull();
      });

      it("of 50 concurrent takes, exactly one wins", async () => {
        await store.set("race", "prize", 60_000);
        const results = await Promise.all(Array.from({ length: 50 }, () => store.take("race")));
        expect(results.filter((r) => r === "prize")).toHaveLength(1);
        expect(results.filter((r) => r === null)).toHaveLength(49);
      });
    });

    describe("S10 increment: counters with a fixed window", () => {
      it("creates the counter at 1 and counts up", async () => {
        expect(await store.increment("c", 60_000)).toBe(1);
        expect(await store.increment("c", 60_000)).toBe(2);
        expect(await store.increment("c", 60_000)).toBe(3);
        expect(await store.get("c")).toBe("3");
      });

      it("expires the counter with the TTL set at creation; later increments do not extend it", async () => {
        expect(await store.increment("c", TTL)).toBe(1);
        // Early in the window (a wide margin for a busy machine's timers), then past it.
        await h.advance(TTL / 3);
        expect(await store.increment("c", TTL)).toBe(2);
        await h.advance(TTL); // past the first TTL, within the second
        expect(await store.get("c")).toBeNull();
        expect(await store.increment("c", TTL)).toBe(1);
      });

      it("counts every one of 50 concurrent increments", async () => {
        const counts = await Promise.all(
          Array.from({ length: 50 }, () => store.increment("burst", 60_000)),
        );
        expect([...counts].sort((a, b) => a - b)).toEqual(
          Array.from({ length: 50 }, (_, i) => i + 1),
        );
      });
    });

    describe("S10 S11 counter: budgets with their window's time left", () => {
      it("adds and reports the count with the ms left in the window", async () => {
        const first = await store.counter("b", 1, 60_000);
        expect(first.count).toBe(1);
        expect(first.ttlMs).toBeGreaterThan(59_000); // Redis reports what is left a moment later
        expect(first.ttlMs).toBeLessThanOrEqual(60_000);
        await h.advance(100);
        const second = await store.counter("b", 2, 60_000);
        expect(second.count).toBe(3);
        expect(second.ttlMs).toBeGreaterThan(55_000);
        expect(second.ttlMs).toBeLessThanOrEqual(59_900);
      });

      it("reads with 0 and gives back with a negative number, never creating a counter", async () => {
        expect(await store.counter("none", 0, 60_000)).toEqual({ count: 0, ttlMs: 0 });
        expect(await store.counter("none", -1, 60_000)).toEqual({ count: 0, ttlMs: 0 });
        expect(await store.get("none")).toBeNull();
        await store.counter("b", 3, 60_000);
        expect((await store.counter("b", -1, 60_000)).count).toBe(2);
        expect((await store.counter("b", 0, 60_000)).count).toBe(2);
      });

      it("shares its counters with increment", async () => {
        await store.increment("c", 60_000);
        expect((await store.counter("c", 1, 60_000)).count).toBe(2);
        expect(await store.increment("c", 60_000)).toBe(3);
      });

      it("keeps the window set at creation, and starts over once it has passed", async () => {
        await store.counter("w", 1, TTL);
        await h.advance(TTL / 3);
        await store.counter("w", 1, 600_000); // a longer TTL later does not extend it
        await h.advance(TTL);
        expect(await store.counter("w", 0, TTL)).toEqual({ count: 0, ttlMs: 0 });
        expect(await store.counter("w", -1, TTL)).toEqual({ count: 0, ttlMs: 0 });
        expect((await store.counter("w", 1, 60_000)).count).toBe(1);
      });

      it("counts every one of 50 concurrent additions", async () => {
        const results = await Promise.all(
          Array.from({ length: 50 }, () => store.counter("burst", 1, 60_000)),
        );
        expect(results.map((r) => r.count).sort((a, b) => a - b)).toEqual(
          Array.from({ length: 50 }, (_, i) => i + 1),
        );
      });

      it("rejects a fractional amount or a missing TTL", async () => {
        await expect(store.counter("b", 1.5, 60_000)).rejects.toThrow(RangeError);
        await expect(store.counter("b", 1.5, 60_000)).rejects.toThrow(
          "by must be a whole number, got 1.5",
        );
        await expect(store.counter("b", 1, 0)).rejects.toThrow(RangeError);
      });
    });

    describe("S11 spend: several budgets in one atomic step", () => {
      const budgets = (points: number[]) =>
        points.map((p, i) => ({ key: `s${i}`, points: p, ttlMs: 60_000 }));
      const counts = async (n: number) =>
        Promise.all(
          Array.from(
            { length: n },
            async (_, i) => (await store.counter(`s${i}`, 0, 60_000)).count,
          ),
        );

      it("adds one to each counter and reports each count with its window's time left", async () => {
        await store.counter("s1", 2, 60_000);
        const spent = await store.spend(budgets([5, 5, 5]));
        expect(spent.refused).toBeUndefined();
        expect(spent.counters.map((c) => c.count)).toEqual([1, 3, 1]);
        for (const c of spent.counters) {
          expect(c.ttlMs).toBeGreaterThan(59_000);
          expect(c.ttlMs).toBeLessThanOrEqual(60_000);
        }
        expect(await counts(3)).toEqual([1, 3, 1]);
      });

      it("stops at the first budget past its points and gives back what the earlier ones took", async () => {
        await store.counter("s1", 2, 60_000); // the second budget has 2 of its 2 spent
        const spent = await store.spend(budgets([5, 2, 5]));
        expect(spent.refused).toBe(1);
        // The refusing counter keeps its point (its window is spent), the later one is untouched.
        expect(spent.counters.map((c) => c.count)).toEqual([1, 3]);
        expect(spent.counters[1]?.ttlMs).toBeGreaterThan(59_000);
        expect(await counts(3)).toEqual([0, 3, 0]);
      });

      it("refuses at the first budget without giving anything back there", async () => {
        await store.counter("s0", 1, 60_000);
        const spent = await store.spend(budgets([1, 5]));
        expect(spent.refused).toBe(0);
        expect(spent.counters.map((c) => c.count)).toEqual([2]);
        expect(await counts(2)).toEqual([2, 0]);
      });

      it("shares its counters with counter and keeps each window as set at creation", async () => {
        await store.counter("s0", 1, TTL);
        await h.advance(TTL / 3);
        const spent = await store.spend([{ key: "s0", points: 5, ttlMs: 600_000 }]);
        expect(spent.counters[0]?.count).toBe(2);
        expect(spent.counters[0]?.ttlMs).toBeLessThanOrEqual(TTL);
        await h.advance(TTL);
        expect(await store.counter("s0", 0, TTL)).toEqual({ count: 0, ttlMs: 0 });
      });

      it("of 50 concurrent spends on 3 points, exactly 3 pass and the others cost the earlier budget nothing", async () => {
        const results = await Promise.all(
          Array.from({ length: 50 }, () =>
            store.spend([
              { key: "hourly", points: 100, ttlMs: 60_000 },
              { key: "tight", points: 3, ttlMs: 60_000 },
            ]),
          ),
        );
        expect(results.filter((r) => r.refused === undefined)).toHaveLength(3);
        expect((await store.counter("hourly", 0, 60_000)).count).toBe(3);
        expect((await store.counter("tight", 0, 60_000)).count).toBe(50);
      });

      it("answers nothing for no budgets, and rejects bad points or a missing TTL", async () => {
        expect(await store.spend([])).toEqual({ counters: [] });
        await expect(store.spend([{ key: "b", points: 1.5, ttlMs: 60_000 }])).rejects.toThrow(
          RangeError,
        );
        await expect(store.spend([{ key: "b", points: 1, ttlMs: 0 }])).rejects.toThrow(RangeError);
        expect(await store.counter("b", 0, 60_000)).toEqual({ count: 0, ttlMs: 0 });
      });
    });

    describe("setMany / deleteMany: several keys in one step", () => {
      it("sets every entry with its own TTL, overwriting what was there", async () => {
        await store.set("m1", "old", 60_000);
        await store.setMany([
          { key: "m1", value: "one", ttlMs: 60_000 },
          { key: "m2", value: "two", ttlMs: TTL },
        ]);
        expect(await store.getMany(["m1", "m2"])).toEqual(["one", "two"]);
        await h.advance(TTL + 50);
        expect(await store.getMany(["m1", "m2"])).toEqual(["one", null]);
      });

      it("writes none of them when one TTL is bad", async () => {
        await expect(
          store.setMany([
            { key: "m1", value: "one", ttlMs: 60_000 },
            { key: "m2", value: "two", ttlMs: 0 },
          ]),
        ).rejects.toThrow(RangeError);
        expect(await store.getMany(["m1", "m2"])).toEqual([null, null]);
        await store.setMany([]);
      });

      it("deletes every key, values and counters alike; absent keys are fine", async () => {
        await store.set("d1", "one", 60_000);
        await store.counter("d2", 2, 60_000);
        await store.set("keep", "kept", 60_000);
        await store.deleteMany(["d1", "d2", "never"]);
        expect(await store.getMany(["d1", "keep"])).toEqual([null, "kept"]);
        expect(await store.counter("d2", 0, 60_000)).toEqual({ count: 0, ttlMs: 0 });
        await store.deleteMany([]);
      });
    });

    describe("S3 swap: consume a value as read, and record it, in one step", () => {
      const used = [{ key: "gone", value: "used", ttlMs: 60_000 }];

      it("deletes the value and writes the entries when the value is the one read", async () => {
        await store.set("rec", "v1", 60_000);
        expect(await store.swap("rec", "v1", used)).toBe(true);
        expect(await store.getMany(["rec", "gone"])).toEqual([null, "used"]);
      });

      it("changes nothing when the value changed, is absent or has expired", async () => {
        await store.set("rec", "v2", 60_000);
        expect(await store.swap("rec", "v1", used)).toBe(false);
        expect(await store.swap("never", "v1", used)).toBe(false);
        await store.set("short", "v1", TTL);
        await h.advance(TTL + 50);
        expect(await store.swap("short", "v1", used)).toBe(false);
        expect(await store.getMany(["rec", "gone"])).toEqual(["v2", null]);
      });

      it("of 50 concurrent swaps of one value, exactly one wins", async () => {
        await store.set("race", "prize", 60_000);
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            store.swap("race", "prize", [{ key: `won:${i}`, value: "1", ttlMs: 60_000 }]),
          ),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const marks = await store.getMany(Array.from({ length: 50 }, (_, i) => `won:${i}`));
        expect(marks.filter((m) => m === "1")).toHaveLength(1);
        expect(await store.get("race")).toBeNull();
      });

      it("writes nothing and keeps the value when one TTL is bad", async () => {
        await store.set("rec", "v1", 60_000);
        await expect(
          store.swap("rec", "v1", [{ key: "gone", value: "used", ttlMs: 0 }]),
        ).rejects.toThrow(RangeError);
        expect(await store.getMany(["rec", "gone"])).toEqual(["v1", null]);
      });
    });

    describe("session index", () => {
      it("lists live members, latest expiry first", async () => {
        const now = h.now();
        await store.indexAdd("idx", "a", now + 10_000, 10);
        await store.indexAdd("idx", "b", now + 30_000, 10);
        await store.indexAdd("idx", "c", now + 20_000, 10);
        expect(await store.indexMembers("idx")).toEqual(["b", "c", "a"]);
      });

      it("returns an empty list for an absent index", async () => {
        expect(await store.indexMembers("none")).toEqual([]);
      });

      it("moves a member's expiry when it is added again", async () => {
        const now = h.now();
        await store.indexAdd("idx", "a", now + 10_000, 10);
        await store.indexAdd("idx", "b", now + 20_000, 10);
        await store.indexAdd("idx", "a", now + 30_000, 10);
        expect(await store.indexMembers("idx")).toEqual(["a", "b"]);
      });

      it("hides expired members and drops them on the next add", async () => {
        const now = h.now();
        await store.indexAdd("idx", "short", now + TTL, 10);
        await store.indexAdd("idx", "long", now + 60_000, 10);
        await h.advance(TTL + 100);
        expect(await store.indexMembers("idx")).toEqual(["long"]);
        await store.indexAdd("idx", "new", h.now() + 30_000, 2);
        expect(await store.indexMembers("idx")).toEqual(["long", "new"]);
      });

      it("keeps only the maxMembers with the latest expiry", async () => {
        const now = h.now();
        for (let i = 1; i <= 8; i++) await store.indexAdd("idx", `s${i}`, now + i * 1000, 5);
        expect(await store.indexMembers("idx")).toEqual(["s8", "s7", "s6", "s5", "s4"]);
        // A member expiring earlier than all kept ones is itself the one trimmed.
        await store.indexAdd("idx", "early", now + 500, 5);
        expect(await store.indexMembers("idx")).toEqual(["s8", "s7", "s6", "s5", "s4"]);
      });

      it("ignores a member added already expired", async () => {
        await store.indexAdd("idx", "past", h.now() - 1, 5);
        expect(await store.indexMembers("idx")).toEqual([]);
      });

      it("removes one member; removing an absent one is fine", async () => {
        const now = h.now();
        await store.indexAdd("idx", "a", now + 10_000, 10);
        await store.indexAdd("idx", "b", now + 20_000, 10);
        await store.indexRemove("idx", "b");
        await store.indexRemove("idx", "never");
        await store.indexRemove("no-index", "x");
        expect(await store.indexMembers("idx")).toEqual(["a"]);
        await store.indexRemove("idx", "a");
        expect(await store.indexMembers("idx")).toEqual([]);
      });

      it("expires the whole index with its latest member", async () => {
        const now = h.now();
        await store.indexAdd("idx", "a", now + TTL / 2, 10);
        await store.indexAdd("idx", "b", now + TTL, 10);
        await h.advance(TTL + 100);
        expect(await store.indexMembers("idx")).toEqual([]);
      });

      it("orders members with the same expiry by member, greater first, and trims the lesser first", async () => {
        const at = h.now() + 60_000;
        for (const member of ["b", "d", "a", "c"]) await store.indexAdd("idx", member, at, 10);
        expect(await store.indexMembers("idx")).toEqual(["d", "c", "b", "a"]);
        await store.indexAdd("idx", "e", at, 3);
        expect(await store.indexMembers("idx")).toEqual(["e", "d", "c"]);
      });

      it("keeps the index while its latest member lives, whichever was added last", async () => {
        const now = h.now();
        await store.indexAdd("idx", "late", now + 60_000, 10);
        await store.indexAdd("idx", "early", now + TTL / 2, 10);
        await h.advance(TTL + 100);
        expect(await store.indexMembers("idx")).toEqual(["late"]);
      });

      it("delete and deleteMany remove a whole index", async () => {
        await store.indexAdd("idx1", "a", h.now() + 60_000, 10);
        await store.indexAdd("idx2", "b", h.now() + 60_000, 10);
        await store.indexAdd("kept", "c", h.now() + 60_000, 10);
        await store.delete("idx1");
        await store.deleteMany(["idx2"]);
        expect(await store.indexMembers("idx1")).toEqual([]);
        expect(await store.indexMembers("idx2")).toEqual([]);
        expect(await store.indexMembers("kept")).toEqual(["c"]);
      });

      it("rejects a maxMembers that is not a positive integer", async () => {
        await expect(store.indexAdd("idx", "a", h.now() + 1000, 0)).rejects.toThrow(RangeError);
        await expect(store.indexAdd("idx", "a", h.now() + 1000, 0)).rejects.toThrow(
          "maxMembers must be a positive integer, got 0",
        );
        await expect(store.indexAdd("idx", "a", h.now() + 1000, 1.5)).rejects.toThrow(RangeError);
      });
    });

    it("ping resolves when the backend answers", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
