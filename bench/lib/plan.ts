/** What one `npm run bench` does; the full plan unless BENCH_QUICK=1 asks for a short one. */
export interface Plan {
  quick: boolean;
  /** Measured rounds after the warm-up rounds; every target runs once per round. */
  rounds: number;
  /**
   * Rounds that warm the servers up and are not kept. One was not enough: in two full runs
   * every page target's first kept round cost 1.35–1.60 ms per request where the later ones
   * settled at 0.9–1.1, both servers alike (the JIT and the heap still settling).
   */
  warmUpRounds: number;
  /**
   * Before those, each GET target's own requests in this many runs of `amount`, back to back
   * (Target.warm): a server that answers one target a round settled only after some 20,000
   * (five runs of 6,000 are 30,000).
   */
  warmUpSlices: number;
  /**
   * Requests per target per run: the same autocannon settings for every target. 6,000, not
   * 2,000: this machine's speed changes within seconds, and a run of about one second caught
   * it there. With the bare app, the anchor and the Redis pair alone, 15 rounds each, one
   * round's ratio had a standard deviation of 14-17 % at 2,000 requests a run and 7-9 % at
   * 6,000, in a run that took 1.9 times as long; repeating each run unmeasured just before it
   * left it at 15-19 %, so the noise is in the run's own seconds, not something left over
   * from the server's being stopped. Longer runs buy more agreement per minute than more
   * rounds (README, "One run").
   */
  amount: number;
  /**
   * Requests per `/healthz` run: ten times as many. A probe costs about 0.07 ms of CPU, so
   * 2,000 of them were some 140 ms, and /proc counts CPU time in 10 ms ticks: a tick more or
   * less moved the ratio by 7 %.
   */
  healthzAmount: number;
  connections: number;
  /**
   * The latency runs: `connections` open at once, sending `pacedRate` requests per second in
   * all, `pacedAmount` requests a run. With every connection always waiting (the throughput
   * runs) a latency is only connections ÷ throughput; at a steady rate below what the
   * server can do it is the time a person waits on a busy server. Evenly spaced and
   * open-loop: ./paced.ts.
   */
  pacedRate: number;
  pacedAmount: number;
  /**
   * The steady-rate runs of `/` signed in and out (`steadyAmount` requests each): well below
   * what the server can do, so every request is handled alone and their CPU per request
   * compares the work, not how answers bunch up under saturation.
   */
  steadyRate: number;
  /**
   * Requests per steady-rate run: 2,000, ten seconds at `steadyRate`. At 1,000 one round's
   * ratio of the two sides had a standard deviation of 7-23 %.
   */
  steadyAmount: number;
  /** Sign-in starts of the memory phase. */
  memoryStarts: number;
  /** Warm-up starts of the memory server (few: their counters are still live at the first reading). */
  memoryWarmStarts: number;
  /** LOGIN_TTL of the memory server, in seconds. */
  memoryLoginTtl: number;
  /** LOGIN_GRACE of the memory server: records go at their expiry. */
  memoryLoginGrace: number;
  /** RATE_LIMIT_WINDOW of the memory server: the shortest the configuration allows. */
  memoryRateLimitWindow: number;
  /** Added to TTL + grace + window + the store's sweep interval before the last reading. */
  memoryMarginSeconds: number;
  /** `npm start` to the first 200, this many times. */
  coldStarts: number;
  microTimeMs: number;
  /** The phases to run (BENCH_ONLY=rounds,relay,memory,cold,js,micro picks some; all by default). */
  phases: ReadonlySet<Phase>;
}

export const PHASES = ["js", "rounds", "relay", "micro", "memory", "cold"] as const;
export type Phase = (typeof PHASES)[number];

/**
 * BENCH_QUICK=1: two rounds of 400 requests and 10,000 memory starts, for working on the
 * benchmark or the hot paths; its figures are too few to quote. BENCH_ONLY limits the phases,
 * BENCH_ROUNDS sets how many rounds are kept.
 */
export function planFromEnv(env: NodeJS.ProcessEnv = process.env): Plan {
  const quick = env.BENCH_QUICK === "1";
  const only = env.BENCH_ONLY?.split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of only ?? []) {
    if (!(PHASES as readonly string[]).includes(name))
      throw new Error(`BENCH_ONLY: unknown phase "${name}" (phases: ${PHASES.join(", ")})`);
  }
  // Fifteen rounds in the full plan: one round's ratio has a standard deviation of 7-18 % on
  // this kind of machine, and two runs' medians of five moved up to 10 %. Of fifteen, two
  // consecutive runs agreed within 3 % on the SQLite and memory-store pairs and moved 5-14 %
  // on the rest (README, "One run"). BENCH_ROUNDS=N keeps N instead.
  const rounds = env.BENCH_ROUNDS === undefined ? (quick ? 2 : 15) : Number(env.BENCH_ROUNDS);
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new Error(
      `BENCH_ROUNDS: a whole number of rounds, at least 1 (got "${env.BENCH_ROUNDS}")`,
    );
  }
  return {
    quick,
    rounds,
    warmUpRounds: quick ? 1 : 2,
    warmUpSlices: quick ? 1 : 5,
    amount: quick ? 400 : 6000,
    healthzAmount: quick ? 4000 : 60_000,
    connections: 50,
    pacedRate: 100,
    pacedAmount: quick ? 200 : 1000,
    steadyRate: 200,
    steadyAmount: quick ? 200 : 2000,
    memoryStarts: quick ? 10_000 : 100_000,
    memoryWarmStarts: 500,
    memoryLoginTtl: 5,
    memoryLoginGrace: 0,
    memoryRateLimitWindow: 60,
    memoryMarginSeconds: 5,
    coldStarts: quick ? 2 : 5,
    microTimeMs: quick ? 300 : 1000,
    phases: new Set((only ?? PHASES) as Phase[]),
  };
}
