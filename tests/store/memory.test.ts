import { afterEach, describe, expect, it, vi } from "vitest";
import { MemoryStore } from "../../app/store/memory.server";
import { runStoreContract } from "./store-contract";

function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return {
    clock: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

runStoreContract("memory", async () => {
  const time = manualClock();
  const store = new MemoryStore({ clock: time.clock, sweepIntervalMs: 0 });
  return { store, now: time.clock, advance: async (ms) => time.advance(ms) };
});

describe("MemoryStore sweep keeps memory bounded", () => {
  it("never holds more than the live entries after a sweep, however many sign-ins start", async () => {
    const time = manualClock();
    const store = new MemoryStore({ clock: time.clock, sweepIntervalMs: 0 });
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 500; i++) {
        await store.set(`login:${round}:${i}`, "v", 1_000);
        await store.increment(`tries:${round}:${i}`, 1_000);
      }
      await store.indexAdd(`sessions:${round}`, "s", time.clock() + 1_000, 5);
      expect(store.size).toBe(1_001); // only this round: nothing older survived its sweep
      time.advance(1_001);
      store.sweep();
      expect(store.size).toBe(0);
    }
    await store.close();
  });

  it("drops an entry that expired even when it is never read again", async () => {
    const time = manualClock();
    const store = new MemoryStore({ clock: time.clock, sweepIntervalMs: 0 });
    await store.set("live", "v", 10_000);
    await store.set("dead", "v", 1_000);
    await store.indexAdd("idx", "m", time.clock() + 1_000, 5);
    time.advance(1_000);
    store.sweep();
    expect(store.size).toBe(1);
    expect(await store.get("live")).toBe("v");
    await store.close();
  });

  it("holds an index as one entry, however many members were added", async () => {
    const time = manualClock();
    const store = new MemoryStore({ clock: time.clock, sweepIntervalMs: 0 });
    for (let i = 0; i < 1_000; i++)
      await store.indexAdd("idx", `m${i}`, time.clock() + 60_000 + i, 10);
    expect(store.size).toBe(1);
    expect(await store.indexMembers("idx")).toHaveLength(10);
    await store.close();
  });

  it("sweeps on its own timer", async () => {
    const time = manualClock();
    const store = new MemoryStore({ clock: time.clock, sweepIntervalMs: 10 });
    await store.set("k", "v", 1);
    time.advance(5);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(store.size).toBe(0);
    await store.close();
  });
});

describe("MemoryStore specifics", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** A store on a clock that moves only when told, with no timer. */
  function fresh() {
    const time = manualClock();
    return { time, store: new MemoryStore({ clock: time.clock, sweepIntervalMs: 0 }) };
  }

  it("expires a value and an index member at exactly their expiry, not a millisecond later", async () => {
    const { time, store } = fresh();
    await store.set("k", "v", 1_000);
    await store.indexAdd("idx", "ends", time.clock() + 1_000, 5);
    await store.indexAdd("idx", "stays", time.clock() + 5_000, 5);
    time.advance(999);
    expect(await store.get("k")).toBe("v");
    expect(await store.indexMembers("idx")).toEqual(["stays", "ends"]);
    time.advance(1);
    expect(await store.get("k")).toBeNull();
    expect(await store.indexMembers("idx")).toEqual(["stays"]);
    // The next add drops the member that ended now from the index itself.
    await store.indexAdd("idx", "new", time.clock() + 2_000, 5);
    expect(store.dump()).toEqual([["idx", "stays new"]]);
    await store.close();
  });

  it("drops an expired entry when it is read, without waiting for a sweep", async () => {
    const { time, store } = fresh();
    await store.set("k", "v", 1_000);
    time.advance(1_000);
    expect(store.size).toBe(1);
    expect(await store.get("k")).toBeNull();
    expect(store.size).toBe(0);
    await store.close();
  });

  it("dumps the live entries in the order last written, an index as its members", async () => {
    const { time, store } = fresh();
    await store.set("a", "1", 60_000);
    await store.indexAdd("idx", "m1", time.clock() + 60_000, 5);
    await store.set("b", "2", 60_000);
    await store.set("short", "3", 1_000);
    await store.indexAdd("idx", "m2", time.clock() + 30_000, 5);
    await store.set("a", "1 again", 60_000);
    time.advance(1_000);
    expect(store.dump()).toEqual([
      ["b", "2"],
      ["idx", "m1 m2"],
      ["a", "1 again"],
    ]);
    await store.close();
  });

  it("an index is no value: get, getMany and take see nothing there; a counter replaces it", async () => {
    const { time, store } = fresh();
    for (const key of ["i1", "i2", "i3"]) await store.indexAdd(key, "m", time.clock() + 60_000, 5);
    expect(await store.get("i1")).toBeNull();
    expect(await store.getMany(["i1"])).toEqual([null]);
    expect(await store.take("i1")).toBeNull();
    expect(await store.indexMembers("i1")).toEqual(["m"]);
    expect(await store.increment("i2", 60_000)).toBe(1);
    expect(await store.counter("i3", 2, 60_000)).toEqual({ count: 2, ttlMs: 60_000 });
    expect(await store.counter("i1", 0, 60_000)).toEqual({ count: 0, ttlMs: 0 });
    expect(await store.getMany(["i2", "i3"])).toEqual(["1", "2"]);
    await store.close();
  });

  it("holds no entry for an index left empty", async () => {
    const { time, store } = fresh();
    // Its last member removed.
    await store.indexAdd("idx", "a", time.clock() + 60_000, 5);
    await store.indexRemove("idx", "a");
    expect(store.size).toBe(0);
    // A member added already expired.
    await store.indexAdd("past", "m", time.clock() - 1, 5);
    expect(store.size).toBe(0);
    // Every member ended while the index itself still had time (its latest one was removed).
    await store.indexAdd("idx", "long", time.clock() + 60_000, 5);
    await store.indexAdd("idx", "short", time.clock() + 1_000, 5);
    await store.indexRemove("idx", "long");
    time.advance(1_000);
    await store.indexAdd("idx", "past", time.clock() - 1, 5);
    expect(store.size).toBe(0);
    expect(store.dump()).toEqual([]);
    await store.close();
  });

  it("starts no timer with sweepIntervalMs 0, and one that never holds the process open otherwise", async () => {
    const every = vi.spyOn(globalThis, "setInterval");
    const quiet = new MemoryStore({ sweepIntervalMs: 0 });
    expect(every).not.toHaveBeenCalled();
    await quiet.close();
    const store = new MemoryStore({ sweepIntervalMs: 60_000 });
    expect(every).toHaveBeenCalledTimes(1);
    expect(every.mock.calls[0]?.[1]).toBe(60_000);
    const timer = every.mock.results[0]?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    await store.close();
  });

  it("close stops the sweep timer and lets go of every entry", async () => {
    const every = vi.spyOn(globalThis, "setInterval");
    const stop = vi.spyOn(globalThis, "clearInterval");
    const store = new MemoryStore({ sweepIntervalMs: 60_000 });
    await store.set("k", "v", 60_000);
    await store.close();
    expect(stop).toHaveBeenCalledWith(every.mock.results[0]?.value);
    expect(store.size).toBe(0);
  });
});
