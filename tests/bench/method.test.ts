/** The benchmark's method (bench/lib): what its figures rest on. */
import { describe, expect, it } from "vitest";
import { firstDifference, visibleMarkup } from "../../bench/lib/document";
import type { LoadResult } from "../../bench/lib/load";
import { planFromEnv } from "../../bench/lib/plan";
import { runRounds, type Target } from "../../bench/lib/rounds";
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

  it("runs the targets of a group back to back, rotating the groups and, within each, its targets", async () => {
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
    expect(rounds).toEqual(["A B C X Y", "X Y B C A", "Y C A B X", "A B C X Y"]);
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
    expect(planFromEnv({})).toMatchObject({ quick: false, rounds: 5, memoryStarts: 100_000 });
    expect(planFromEnv({ BENCH_QUICK: "1" })).toMatchObject({ quick: true, rounds: 2 });
    expect([...planFromEnv({ BENCH_ONLY: "rounds, cold" }).phases]).toEqual(["rounds", "cold"]);
    expect(() => planFromEnv({ BENCH_ONLY: "pages" })).toThrow(/unknown phase "pages"/);
  });
});
