/**
 * app/auth/provider-signout.server.ts alone: telling the provider that its sessions end when
 * ours do, against a scripted adapter, the memory store and a clock that moves only when
 * told. What is queued for which kind of sign-out, the log line of every outcome, the
 * backoff and its cap, giving up once a session could no longer be alive, a store that does
 * not answer, a provider slower than the wait, and the retry timer.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { AuthError } from "../../adapters/errors";
import type { ProviderSession } from "../../adapters/types";
import {
  createProviderSignOut,
  type ProviderSignOutOptions,
} from "../../app/auth/provider-signout.server";
import type { AuthEvent } from "../../app/lib/log.server";
import { MemoryStore } from "../../app/store/memory.server";
import type { Store } from "../../app/store/types";
import { createTestClock, type TestClock } from "../support/clock";

const MINUTE = 60_000;
const DAY = 86_400_000;

type Call = ["one", ProviderSession] | ["all", string];

/** An adapter that records each call and answers as `answer` says (resolves by default). */
function scriptedAdapter(
  options: { one?: boolean; all?: boolean; answer?: (call: Call) => Promise<void> } = {},
) {
  const calls: Call[] = [];
  const answer = options.answer ?? (async () => {});
  const adapter: ProviderSignOutOptions["adapter"] = {};
  if (options.one ?? true) {
    adapter.endSession = (session: ProviderSession) => {
      const call: Call = ["one", session];
      calls.push(call);
      return answer(call);
    };
  }
  if (options.all ?? true) {
    adapter.endAllSessions = (userId: string) => {
      const call: Call = ["all", userId];
      calls.push(call);
      return answer(call);
    };
  }
  return { adapter, calls };
}

/** A memory store whose calls (name and arguments) are recorded. */
function recordedStore(clock: TestClock) {
  const store = new MemoryStore({ clock, sweepIntervalMs: 0 });
  const calls: unknown[][] = [];
  const recorded = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push([name, ...args]);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: recorded as Store, memory: store, calls };
}

function setup(
  options: {
    adapter?: ProviderSignOutOptions["adapter"];
    store?: Store;
    clock?: TestClock;
  } & Partial<Pick<ProviderSignOutOptions, "waitMs" | "retryForMs" | "retryDelayMs">> = {},
) {
  const clock = options.clock ?? createTestClock();
  const recorded = recordedStore(clock);
  const store = options.store ?? recorded.store;
  const events: AuthEvent[] = [];
  const signOut = createProviderSignOut({
    store,
    adapter: options.adapter ?? scriptedAdapter().adapter,
    clock,
    log: (event) => events.push(event),
    waitMs: options.waitMs,
    retryForMs: options.retryForMs,
    retryDelayMs: options.retryDelayMs,
  });
  const outcomes = () => events.map((event) => event.outcome);
  return {
    signOut,
    clock,
    store,
    memory: recorded.memory,
    calls: recorded.calls,
    events,
    outcomes,
  };
}

const one = (id: string, userId = "pu_1"): ProviderSession => ({ id, userId });
const ended = (providerSessions: ProviderSession[], everywhere = false) => ({
  userId: "user_1",
  providerSessions,
  everywhere,
});

/** An adapter whose every call fails with `error`. */
const failing = (
  error: unknown = new Error("down"),
  options: { one?: boolean; all?: boolean } = {},
) =>
  scriptedAdapter({
    ...options,
    answer: async () => {
      throw error;
    },
  });

afterEach(() => {
  vi.useRealTimers();
});

describe("what is ended", () => {
  it("ends each provider session of the sessions that ended, with its provider user", async () => {
    const { adapter, calls } = scriptedAdapter();
    const { signOut, outcomes } = setup({ adapter });
    await signOut.ended(ended([one("ps_1", "pu_1"), one("ps_2", "pu_2")]));
    expect(calls).toEqual([
      ["one", { id: "ps_1", userId: "pu_1" }],
      ["one", { id: "ps_2", userId: "pu_2" }],
    ]);
    expect(outcomes()).toEqual(["success", "success"]);
    expect(await signOut.pending()).toBe(0);
  });

  it("passes an empty provider user id when a queued session has none", async () => {
    const clock = createTestClock();
    const { store } = recordedStore(clock);
    // Queued by an instance whose session carried no provider user id.
    const first = setup({ adapter: failing().adapter, store, clock });
    await first.signOut.ended(ended([{ id: "ps_1" } as ProviderSession]));
    const { adapter, calls } = scriptedAdapter();
    const second = setup({ adapter, store, clock });
    clock.advance(30_000);
    expect(await second.signOut.retryDue()).toEqual({ done: 1, failed: 0 });
    expect(calls).toEqual([["one", { id: "ps_1", userId: "" }]]);
  });

  it("signing out everywhere ends every session of each provider user once, skipping sessions without one", async () => {
    const { adapter, calls } = scriptedAdapter();
    const { signOut, outcomes } = setup({ adapter });
    await signOut.ended(
      ended([one("ps_1", "pu_1"), one("ps_2", "pu_1"), one("ps_3", "pu_2"), one("ps_4", "")], true),
    );
    expect(calls).toEqual([
      ["all", "pu_1"],
      ["all", "pu_2"],
    ]);
    expect(outcomes()).toEqual(["success", "success"]);
  });

  it("signing out everywhere with a provider that can only end one session ends each one", async () => {
    const { adapter, calls } = scriptedAdapter({ all: false });
    const { signOut } = setup({ adapter });
    await signOut.ended(ended([one("ps_1"), one("ps_2")], true));
    expect(calls).toEqual([
      ["one", one("ps_1")],
      ["one", one("ps_2")],
    ]);
  });

  it("asks nothing of a provider that cannot end one session when one session ends", async () => {
    const { adapter, calls } = scriptedAdapter({ one: false });
    const { signOut, events, calls: storeCalls } = setup({ adapter });
    await signOut.ended(ended([one("ps_1")]));
    expect(calls).toEqual([]);
    expect(events).toEqual([]);
    expect(storeCalls).toEqual([]);
  });

  it("a queued sign-out the adapter can no longer do leaves the queue as done", async () => {
    const clock = createTestClock();
    const { store } = recordedStore(clock);
    const first = setup({ adapter: failing().adapter, store, clock });
    await first.signOut.ended(ended([one("ps_1", "pu_1")]));
    await first.signOut.ended(ended([one("ps_2", "pu_2")], true));
    expect(await first.signOut.pending()).toBe(2);
    clock.advance(30_000);
    // The same queue, read by an adapter with neither call.
    const second = setup({ adapter: {}, store, clock });
    expect(await second.signOut.retryDue()).toEqual({ done: 2, failed: 0 });
    expect(second.outcomes()).toEqual(["success_retried", "success_retried"]);
    expect(await second.signOut.pending()).toBe(0);
  });
});

describe("the queue", () => {
  it("queues each sign-out before trying it, for as long as a session lives (7 days by default)", async () => {
    const { signOut, calls, clock } = setup();
    const now = clock();
    await signOut.ended(ended([one("ps_1")]));
    await signOut.ended(ended([one("ps_2", "pu_2")], true));
    const writes = calls.filter(([name]) => name === "set" || name === "indexAdd");
    expect(writes).toEqual([
      [
        "set",
        "provider-signout:job:one:ps_1",
        JSON.stringify({
          kind: "one",
          target: "ps_1",
          userId: "pu_1",
          attempts: 0,
          nextAt: now,
          createdAt: now,
        }),
        7 * DAY,
      ],
      ["indexAdd", "provider-signout:queue", "one:ps_1", now + 7 * DAY, 10_000],
      [
        "set",
        "provider-signout:job:all:pu_2",
        JSON.stringify({ kind: "all", target: "pu_2", attempts: 0, nextAt: now, createdAt: now }),
        7 * DAY,
      ],
      ["indexAdd", "provider-signout:queue", "all:pu_2", now + 7 * DAY, 10_000],
    ]);
  });

  it("forgets a sign-out that succeeded: its entry and its place in the queue", async () => {
    const { signOut, memory } = setup();
    await signOut.ended(ended([one("ps_1")]));
    expect(await memory.get("provider-signout:job:one:ps_1")).toBeNull();
    expect(await memory.indexMembers("provider-signout:queue")).toEqual([]);
  });

  it("counts the sign-outs waiting for the provider", async () => {
    const { signOut } = setup({ adapter: failing().adapter });
    expect(await signOut.pending()).toBe(0);
    await signOut.ended(ended([one("ps_1"), one("ps_2")]));
    expect(await signOut.pending()).toBe(2);
  });

  it("with the store down, still tries once now and says it was not queued", async () => {
    const { adapter, calls } = scriptedAdapter();
    const clock = createTestClock();
    const store = new MemoryStore({ clock, sweepIntervalMs: 0 });
    store.set = async () => {
      throw new Error("store down");
    };
    const { signOut, events } = setup({ adapter, store, clock });
    await signOut.ended(ended([one("ps_1")]));
    expect(calls).toEqual([["one", one("ps_1")]]);
    expect(events).toEqual([
      { step: "provider_logout", outcome: "not_queued:store_unavailable" },
      { step: "provider_logout", outcome: "success" },
    ]);
  });

  it("with the store and the provider down, sign-out still answers", async () => {
    const clock = createTestClock();
    const store = new MemoryStore({ clock, sweepIntervalMs: 0 });
    store.set = async () => {
      throw new Error("store down");
    };
    const { signOut, outcomes } = setup({ adapter: failing().adapter, store, clock });
    await expect(signOut.ended(ended([one("ps_1")]))).resolves.toBeUndefined();
    expect(outcomes()).toEqual(["not_queued:store_unavailable", "retry_queued:unavailable"]);
  });
});

describe("a provider that fails", () => {
  it("logs an AuthError's code and request id, and any other error as unavailable", async () => {
    const refused = setup({
      adapter: failing(new AuthError("rate_limited", "slow down", { requestId: "req_9" })).adapter,
    });
    await refused.signOut.ended(ended([one("ps_1")]));
    expect(refused.events).toEqual([
      { step: "provider_logout", outcome: "retry_queued:rate_limited", requestId: "req_9" },
    ]);
    const broken = setup({ adapter: failing(new Error("socket hang up")).adapter });
    await broken.signOut.ended(ended([one("ps_1")]));
    expect(broken.events).toEqual([
      { step: "provider_logout", outcome: "retry_queued:unavailable", requestId: undefined },
    ]);
  });

  it("retries after 30 s, then twice as long after each failure, and logs a later success as retried", async () => {
    let down = true;
    const { adapter, calls } = scriptedAdapter({
      answer: async () => {
        if (down) throw new Error("down");
      },
    });
    const { signOut, clock, outcomes } = setup({ adapter });
    await signOut.ended(ended([one("ps_1")]));
    for (const wait of [30_000, 60_000, 120_000]) {
      clock.advance(wait - 1);
      expect(await signOut.retryDue()).toEqual({ done: 0, failed: 0 });
      clock.advance(1);
      expect(await signOut.retryDue()).toEqual({ done: 0, failed: 1 });
    }
    expect(calls).toHaveLength(4);
    down = false;
    clock.advance(240_000);
    expect(await signOut.retryDue()).toEqual({ done: 1, failed: 0 });
    expect(outcomes()).toEqual([
      "retry_queued:unavailable",
      "retry_queued:unavailable",
      "retry_queued:unavailable",
      "retry_queued:unavailable",
      "success_retried",
    ]);
    expect(await signOut.pending()).toBe(0);
  });

  it("doubles a configured first delay, up to 30 minutes", async () => {
    const { signOut, clock } = setup({ adapter: failing().adapter, retryDelayMs: 20 * MINUTE });
    await signOut.ended(ended([one("ps_1")]));
    clock.advance(20 * MINUTE);
    expect(await signOut.retryDue()).toEqual({ done: 0, failed: 1 });
    // 40 minutes, capped at 30.
    clock.advance(30 * MINUTE - 1);
    expect(await signOut.retryDue()).toEqual({ done: 0, failed: 0 });
    clock.advance(1);
    expect(await signOut.retryDue()).toEqual({ done: 0, failed: 1 });
  });

  it("keeps a failed sign-out only until its retry time is over", async () => {
    const { adapter, calls } = failing(new AuthError("unavailable"));
    const {
      signOut,
      clock,
      calls: storeCalls,
      memory,
    } = setup({
      adapter,
      retryForMs: 100_000,
      retryDelayMs: 40_000,
    });
    const start = clock();
    await signOut.ended(ended([one("ps_1")]));
    // Each rewrite of the entry expires when the sign-out would be given up anyway.
    const ttls = () => storeCalls.filter(([name]) => name === "set").map((call) => call[3]);
    expect(ttls()).toEqual([100_000, 100_000]);
    clock.advance(40_000);
    expect(await signOut.retryDue()).toEqual({ done: 0, failed: 1 });
    expect(ttls()).toEqual([100_000, 100_000, 60_000]);
    // The next retry would be at 120 s: at 100 s the entry and its place in the queue are gone.
    clock.set(start + 100_000 - 1);
    expect(await signOut.pending()).toBe(1);
    clock.set(start + 100_000);
    expect(await signOut.pending()).toBe(0);
    expect(await signOut.retryDue()).toEqual({ done: 0, failed: 0 });
    expect(calls).toHaveLength(2);
    expect(await memory.get("provider-signout:job:one:ps_1")).toBeNull();
  });

  it("clears the place in the queue of an entry the store lost, without asking the provider", async () => {
    const { adapter, calls } = failing();
    const { signOut, clock, memory } = setup({ adapter });
    await signOut.ended(ended([one("ps_1")]));
    await memory.delete("provider-signout:job:one:ps_1");
    clock.advance(30_000);
    expect(await signOut.retryDue()).toEqual({ done: 0, failed: 0 });
    expect(calls).toHaveLength(1);
    expect(await memory.indexMembers("provider-signout:queue")).toEqual([]);
  });

  it("gives up a failure that comes back with no time left, and forgets it", async () => {
    const clock = createTestClock();
    const { adapter } = scriptedAdapter({
      answer: async () => {
        // The provider took the whole retry time to fail.
        clock.advance(60_000);
        throw new AuthError("unavailable");
      },
    });
    const { signOut, outcomes, memory, calls } = setup({ adapter, clock, retryForMs: 60_000 });
    await signOut.ended(ended([one("ps_1")]));
    expect(outcomes()).toEqual(["given_up:unavailable"]);
    // Deleted, not written again with no time to live.
    expect(calls.slice(2)).toEqual([
      ["delete", "provider-signout:job:one:ps_1"],
      ["indexRemove", "provider-signout:queue", "one:ps_1"],
    ]);
    expect(await memory.get("provider-signout:job:one:ps_1")).toBeNull();
    expect(await signOut.pending()).toBe(0);
  });

  it("queues a failure again while a millisecond is left", async () => {
    const clock = createTestClock();
    const { adapter } = scriptedAdapter({
      answer: async () => {
        clock.advance(59_999);
        throw new AuthError("unavailable");
      },
    });
    const { signOut, outcomes } = setup({ adapter, clock, retryForMs: 60_000 });
    await signOut.ended(ended([one("ps_1")]));
    expect(outcomes()).toEqual(["retry_queued:unavailable"]);
    expect(await signOut.pending()).toBe(1);
  });
});

describe("a retry pass", () => {
  it("forgets an entry it cannot read, and skips an entry that is not due", async () => {
    const { adapter, calls } = failing();
    const { signOut, clock, memory } = setup({ adapter });
    await signOut.ended(ended([one("ps_1"), one("ps_2")]));
    await memory.set("provider-signout:job:one:ps_1", "{not json", DAY);
    clock.advance(29_999);
    expect(await signOut.retryDue()).toEqual({ done: 0, failed: 0 });
    expect(await memory.get("provider-signout:job:one:ps_1")).toBeNull();
    expect(await memory.indexMembers("provider-signout:queue")).toEqual(["one:ps_2"]);
    expect(calls).toHaveLength(2);
  });

  it("runs one pass at a time: a second call meanwhile shares the first, a later one starts anew", async () => {
    let release = () => {};
    let hold = false;
    const { adapter, calls } = scriptedAdapter({
      answer: async () => {
        if (!hold) throw new Error("down");
        await new Promise<void>((resolve) => {
          release = resolve;
        });
      },
    });
    const { signOut, clock } = setup({ adapter });
    await signOut.ended(ended([one("ps_1")]));
    clock.advance(30_000);
    hold = true;
    const first = signOut.retryDue();
    const second = signOut.retryDue();
    expect(second).toBe(first);
    await vi.waitFor(() => expect(calls).toHaveLength(2));
    release();
    expect(await first).toEqual({ done: 1, failed: 0 });
    const third = signOut.retryDue();
    expect(third).not.toBe(first);
    expect(await third).toEqual({ done: 0, failed: 0 });
  });

  it("a pass that fails does not block the next one", async () => {
    const clock = createTestClock();
    const store = new MemoryStore({ clock, sweepIntervalMs: 0 });
    const indexMembers = store.indexMembers.bind(store);
    let down = true;
    store.indexMembers = async (key) => {
      if (down) throw new Error("store down");
      return indexMembers(key);
    };
    const { signOut } = setup({ store, clock });
    await expect(signOut.retryDue()).rejects.toThrow("store down");
    down = false;
    expect(await signOut.retryDue()).toEqual({ done: 0, failed: 0 });
  });
});

describe("waiting for the provider", () => {
  it("answers after 2 s at most by default and lets the attempt go on, which is still logged", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    let release = () => {};
    const { adapter } = scriptedAdapter({
      answer: () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    });
    const { signOut, outcomes } = setup({ adapter });
    let answered = false;
    const done = signOut.ended(ended([one("ps_1")])).then(() => {
      answered = true;
    });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(answered).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await done;
    expect(outcomes()).toEqual(["slow:continuing"]);
    release();
    await vi.waitFor(() => expect(outcomes()).toEqual(["slow:continuing", "success"]));
  });

  it("waits as long as configured", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { adapter } = scriptedAdapter({ answer: () => new Promise<void>(() => {}) });
    const { signOut, outcomes } = setup({ adapter, waitMs: 500 });
    let answered = false;
    void signOut.ended(ended([one("ps_1")])).then(() => {
      answered = true;
    });
    await vi.advanceTimersByTimeAsync(499);
    expect(answered).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(answered).toBe(true);
    expect(outcomes()).toEqual(["slow:continuing"]);
  });

  it("leaves no timer behind when the provider answers in time", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { signOut, outcomes } = setup();
    await signOut.ended(ended([one("ps_1")]));
    expect(vi.getTimerCount()).toBe(0);
    expect(outcomes()).toEqual(["success"]);
  });
});

describe("the retry timer", () => {
  it("retries due sign-outs every 30 s by default, once however often it is started, until stopped", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const { adapter, calls } = failing();
    const { signOut, clock } = setup({ adapter, retryDelayMs: 1 });
    await signOut.ended(ended([one("ps_1")]));
    clock.advance(DAY);
    signOut.start();
    signOut.start();
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await vi.waitFor(() => expect(calls).toHaveLength(2));
    signOut.stop();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(2);
    // Stopped, it can be started again, with another interval.
    clock.advance(1_000);
    signOut.start(1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    await vi.waitFor(() => expect(calls).toHaveLength(3));
    signOut.stop();
  });

  it("never holds the process open, and a store that is down only waits for the next tick", async () => {
    const clock = createTestClock();
    const store = new MemoryStore({ clock, sweepIntervalMs: 0 });
    let asked = 0;
    store.indexMembers = async () => {
      asked += 1;
      throw new Error("store down");
    };
    const real = globalThis.setInterval;
    const timers: Array<{ hasRef(): boolean }> = [];
    globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
      const timer = real(...args);
      timers.push(timer as unknown as { hasRef(): boolean });
      return timer;
    }) as typeof setInterval;
    const { signOut } = setup({ store, clock });
    try {
      signOut.start(5);
    } finally {
      globalThis.setInterval = real;
    }
    try {
      expect(timers).toHaveLength(1);
      expect(timers[0]?.hasRef()).toBe(false);
      // Two ticks, each asking the store: the first one's failure stopped nothing.
      await vi.waitFor(() => expect(asked).toBeGreaterThanOrEqual(2));
    } finally {
      signOut.stop();
    }
  });
});
