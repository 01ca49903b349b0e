import { describe, expect, it } from "vitest";
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
