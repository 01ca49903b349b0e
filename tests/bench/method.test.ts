/** The benchmark's method (bench/lib): what its figures rest on. */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { firstDifference, visibleMarkup } from "../../bench/lib/document";
import type { LoadResult } from "../../bench/lib/load";
import { planFromEnv } from "../../bench/lib/plan";
import { watchMachine, type Machine } from "../../bench/lib/quiet";
import { runRounds, warmUp, type Target } from "../../bench/lib/rounds";
import { cpuMsOf, type Server } from "../../bench/lib/servers";
import { formsOf } from "../../bench/lib/signin";

const result = (requests: number): LoadResult => ({
  rps: requests,
  p50: 1,
  p99: 2,
  requests,
  statuses: { 200: requests },
  errors: 0,
  timeouts: 0,
});

/** A machine that only records what it is asked to hold still and let go, and is always quiet. */
const recordingMachine = (events: string[]): Machine => ({
  focus: (pids) => void events.push(`focus ${pids.join(",")}`),
  release: () => void events.push("release"),
  quiet: async () => ({ waitedMs: 0, quiet: true }),
  othersCpuMs: () => new Map(),
});

describe("bench method", () => {
  it("runs one target at a time, rotating the order each round, and drops the warm-up round", async () => {
    const order: string[] = [];
    let cpu = 0;
    let running = 0;
    const server = { cpuMs: () => cpu } as unknown as Server;
    const target = (id: string, cost: number): Target => ({
      id,
      server,
      run: async () => {
        running++;
        expect(running).toBe(1);
        order.push(id);
        await new Promise((resolve) => setTimeout(resolve, 1));
        cpu += cost * 100;
        running--;
        return result(100);
      },
    });
    const runs = await runRounds([target("A", 1), target("B", 2), target("C", 3)], 3, () => {});
    expect(order.join(" ")).toBe("A B C B C A C A B A B C");
    expect(runs.get("A")).toHaveLength(3);
    expect(runs.get("C")?.map((m) => m.cpuMsPerRequest)).toEqual([3, 3, 3]);
  });

  it("runs the targets of a group back to back, rotating the groups, each group forwards then backwards", async () => {
    const order: string[] = [];
    const server = { cpuMs: () => 0 } as unknown as Server;
    const target = (id: string, group?: string): Target => ({
      id,
      server,
      group,
      run: async () => (order.push(id), result(1)),
    });
    await runRounds(
      [target("A", "p"), target("X"), target("B", "p"), target("C", "p"), target("Y")],
      3,
      () => {},
    );
    const rounds = [0, 1, 2, 3].map((r) => order.slice(r * 5, r * 5 + 5).join(" "));
    // Neighbours in a group (the sides of a ratio) always run one right after the other.
    expect(rounds).toEqual(["A B C X Y", "X Y C B A", "Y A B C X", "C B A X Y"]);
  });

  it("keeps no run of the warm-up rounds, however many there are", async () => {
    let cpu = 0;
    let runCount = 0;
    const server = { cpuMs: () => cpu } as unknown as Server;
    const rounds: number[] = [];
    const runs = await runRounds(
      // The n-th run costs n ms per request.
      [{ id: "A", server, run: async () => ((cpu += 100 * ++runCount), result(100)) }],
      2,
      (round) => rounds.push(round),
      2,
    );
    // Rounds −1 and 0 warm up; 1 and 2 are kept, with their own CPU (3 ms, then 4).
    expect(rounds).toEqual([-1, 0, 1, 2]);
    expect(runs.get("A")?.map((m) => m.cpuMsPerRequest)).toEqual([3, 4]);
  });

  it("counts the settling work of a target in its CPU time, and its preparation not", async () => {
    let cpu = 0;
    const server = { cpuMs: () => cpu } as unknown as Server;
    const runs = await runRounds(
      [
        {
          id: "post",
          server,
          prepare: async () => void (cpu += 1000),
          run: async () => ((cpu += 50), result(10)),
          settle: async () => void (cpu += 30),
        },
      ],
      1,
      () => {},
    );
    expect(runs.get("post")?.[0]?.cpuMs).toBe(80);
  });

  it("gives each run the machine: only its server runs, from its preparation on; it starts once quiet; all go again after the round", async () => {
    const events: string[] = [];
    let own = 0;
    let others = 0;
    const server = { pid: 1, cpuMs: () => own } as unknown as Server;
    const machine: Machine = {
      focus: (pids) => void events.push(`focus ${pids.join(",")}`),
      release: () => void events.push("release"),
      quiet: async () => (events.push("quiet"), { waitedMs: 700, quiet: true }),
      othersCpuMs: (except) => (
        events.push(`others ${except.join(",")}`),
        new Map([
          ["sweeper", others],
          ["idle", 5],
        ])
      ),
    };
    const runs = await runRounds(
      [
        {
          id: "A",
          server,
          helpers: [2],
          prepare: async () => void events.push("prepare"),
          run: async () => (events.push("run"), (own += 100), (others += 40), result(100)),
        },
      ],
      1,
      () => {},
      0,
      machine,
    );
    expect(events).toEqual([
      "focus 1,2",
      "prepare",
      "quiet",
      "others 1,2",
      "run",
      "others 1,2",
      "release",
    ]);
    expect(runs.get("A")?.[0]).toMatchObject({
      cpuMs: 100,
      waitedMs: 700,
      othersCpuMs: 40,
      others: { sweeper: 40 },
    });
  });

  it("warms each target with its own requests first, alone, prepared once, reporting each slice", async () => {
    const events: string[] = [];
    let cpu = 0;
    const server = { pid: 1, cpuMs: () => cpu } as unknown as Server;
    let slice = 0;
    const reported: [string, number[]][] = [];
    await warmUp(
      [
        {
          id: "A",
          server,
          helpers: [2],
          prepare: async () => void events.push("prepare"),
          // The n-th slice costs 4 − n ms per request: settling.
          run: async () => (events.push("run"), (cpu += 100 * (4 - ++slice)), result(100)),
          warm: true,
        },
        // Not marked: not warmed, not prepared.
        {
          id: "B",
          server,
          prepare: async () => void events.push("prepare B"),
          run: async () => result(1),
        },
      ],
      3,
      (id, perRequest) => reported.push([id, perRequest]),
      recordingMachine(events),
    );
    expect(events).toEqual(["focus 1,2", "prepare", "run", "run", "run", "release"]);
    expect(reported).toEqual([["A", [3, 2, 1]]]);
  });

  it("waits until every watched process has been idle for a whole window, or gives up", async () => {
    let clock = 0;
    const cpu = new Map([
      [1, 0],
      [2, 0],
    ]);
    // Process 2 works 30 ms in each 100 ms until t = 1000, then stops.
    const sleep = async (ms: number) => {
      clock += ms;
      if (clock <= 1000) cpu.set(2, (cpu.get(2) ?? 0) + 30);
    };
    const watch = (maxWaitMs: number) =>
      watchMachine({
        processes: () => [
          { name: "one", pid: 1 },
          { name: "two", pid: 2 },
        ],
        cpuMsOf: (pid) => cpu.get(pid) ?? 0,
        windowMs: 500,
        idleMs: 10,
        maxWaitMs,
        pollMs: 100,
        now: () => clock,
        sleep,
      });
    // Idle from t = 1000: quiet once 500 ms more have passed with nothing used.
    expect(await watch(15_000).quiet()).toEqual({ waitedMs: 1500, quiet: true });
    clock = 0;
    cpu.set(2, 0);
    expect(await watch(800).quiet()).toEqual({ waitedMs: 800, quiet: false });
    cpu.set(1, 5);
    expect(watch(1).othersCpuMs([2])).toEqual(new Map([["one", 5]]));
    expect(watch(1).othersCpuMs([])).toEqual(
      new Map([
        ["one", 5],
        ["two", cpu.get(2)],
      ]),
    );
  });

  it.each([
    ["a round", (target: Target, machine: Machine) => runRounds([target], 1, () => {}, 0, machine)],
    ["the warm-up", (target: Target, machine: Machine) => warmUp([target], 2, () => {}, machine)],
  ])("lets go of every process after %s, even when a run failed", async (_, phase) => {
    const events: string[] = [];
    const server = { pid: 1, cpuMs: () => 0 } as unknown as Server;
    const failing: Target = {
      id: "A",
      server,
      warm: true,
      run: async () => {
        throw new Error("refused");
      },
    };
    await expect(phase(failing, recordingMachine(events))).rejects.toThrow("refused");
    expect(events.at(-1)).toBe("release");
  });

  it("stops a real busy process while another is focused, and lets it go again", async () => {
    const busy = spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" });
    try {
      const pid = busy.pid as number;
      const machine = watchMachine({ processes: () => [{ name: "busy", pid }] });
      const growth = async () => {
        const before = cpuMsOf(pid);
        await new Promise((resolve) => setTimeout(resolve, 300));
        return cpuMsOf(pid) - before;
      };
      expect(await growth()).toBeGreaterThan(0);
      machine.focus([process.pid]);
      // A signal is delivered at once, but a tick already under way may still be counted.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await growth()).toBe(0);
      machine.release();
      expect(await growth()).toBeGreaterThan(0);
    } finally {
      busy.kill("SIGKILL");
    }
  });

  it("reads a process's CPU time from /proc, growing as it works", () => {
    const before = cpuMsOf(process.pid);
    expect(before).toBeGreaterThan(0);
    // Busy until a clock tick (10 ms of CPU) shows; on a loaded machine that takes longer.
    const until = performance.now() + 5000;
    let after = before;
    while (after === before && performance.now() < until) {
      for (let i = 0; i < 1e5; i++) Math.sqrt(i);
      after = cpuMsOf(process.pid);
    }
    expect(after).toBeGreaterThan(before);
  });

  it("compares pages by their visible markup: nonces, scripts, asset hashes and class names aside", () => {
    const starter =
      '<link rel="stylesheet" href="/assets/root-AbCdEf12.css"/><header class="_8xffu61"><a class="_8xffu62 x">Hi</a></header><script nonce="n1">window.a=1</script>';
    const bare =
      '<link rel="stylesheet" href="/assets/root-ZyXwVu98.css"/><header class="_1moxlb31"><a class="_1moxlb32 y">Hi</a></header><script>window.b=2</script>';
    expect(visibleMarkup(starter)).toBe(visibleMarkup(bare));
    expect(firstDifference(starter, bare)).toBeNull();
    expect(firstDifference(starter, bare.replace("Hi", "Ho"))).toMatch(/^at character \d+/);
    // React's text separators are not markup; the words around them still count.
    expect(
      firstDifference("<p>we send<!-- --> <!-- -->a link</p>", "<p>we send a link</p>"),
    ).toBeNull();
    expect(
      firstDifference("<p>we send<!-- --> <!-- -->a code</p>", "<p>we send a link</p>"),
    ).not.toBeNull();
    // Two styles where the other page has one is a difference.
    expect(firstDifference(starter, bare.replace("_1moxlb32 y", "_1moxlb31 y"))).not.toBeNull();
  });

  it("reads plain forms as a browser without JavaScript submits them", () => {
    const [form] = formsOf(
      '<form method="post" action="/auth/link?x=1&amp;y=2"><input type="hidden" name="token" value="a&amp;b"/><input name="email"/><button name="intent" value="go">Go</button></form>',
    );
    expect(form).toEqual({
      method: "post",
      action: "/auth/link?x=1&y=2",
      fields: { token: "a&b", email: "", intent: "go" },
      names: ["token", "email", "intent"],
    });
  });

  it("runs the full plan unless BENCH_QUICK=1, and refuses an unknown BENCH_ONLY phase", () => {
    expect(planFromEnv({})).toMatchObject({
      quick: false,
      rounds: 15,
      warmUpSlices: 5,
      amount: 6000,
      healthzAmount: 60_000,
      steadyAmount: 2000,
      memoryStarts: 100_000,
    });
    expect(planFromEnv({ BENCH_QUICK: "1" })).toMatchObject({ quick: true, rounds: 2 });
    expect([...planFromEnv({ BENCH_ONLY: "rounds, cold" }).phases]).toEqual(["rounds", "cold"]);
    expect(() => planFromEnv({ BENCH_ONLY: "pages" })).toThrow(/unknown phase "pages"/);
  });

  it("keeps BENCH_ROUNDS rounds when asked, in the full plan or the quick one, and refuses a count that is not one", () => {
    expect(planFromEnv({ BENCH_ROUNDS: "5" })).toMatchObject({ quick: false, rounds: 5 });
    expect(planFromEnv({ BENCH_ROUNDS: "3", BENCH_QUICK: "1" })).toMatchObject({ rounds: 3 });
    for (const wrong of ["0", "-2", "2.5", "many", ""]) {
      expect(() => planFromEnv({ BENCH_ROUNDS: wrong })).toThrow(/BENCH_ROUNDS/);
    }
  });
});
