import { loadavg } from "node:os";
import type { LoadResult } from "./load";
import type { Machine } from "./quiet";
import type { Server } from "./servers";

/** One figure under load: a server, what to send it, and the work around each run. */
export interface Target {
  id: string;
  server: Server;
  /** Before each run and outside its measurement (a fresh session, codes to verify). */
  prepare?: () => Promise<void>;
  run: () => Promise<LoadResult>;
  /**
   * After the load and inside the measurement: waits for the work the requests left behind
   * (the emails POST /login queued), so that their CPU time is counted too and does not
   * spill into the next target's run.
   */
  settle?: (result: LoadResult) => Promise<void>;
  /**
   * Targets that make a ratio together share a group: they always run one right after
   * another, so that the machine's drift over a round (its speed changes by tens of percent
   * over minutes here) falls on both sides of the ratio alike.
   */
  group?: string;
  /** Processes that work for the target during its run (a starter's Redis): not crosstalk. */
  helpers?: readonly number[];
  /**
   * Run its own `run` {@link warmUp}'s `slices` times before the rounds, not kept. A server
   * that answers one target gets 2,000 requests a round, and the bare app's CPU per request
   * kept falling for 8–10 kept rounds (from 1.2–1.4 ms to 0.9–1.0) in runs whose rounds took
   * 9 s, 15 s and 80 s alike: it settles by the requests it has answered (some 20,000), not
   * by the minutes. The page starter, with 8,000 pages a round, was flat from the first kept
   * round. Without this, the rounds measured warm-ups.
   */
  warm?: boolean;
}

/** One run of one target. */
export interface Measured extends LoadResult {
  /** CPU time of the server process during the run (and its settling), ms. */
  cpuMs: number;
  cpuMsPerRequest: number;
  /** The 1-minute load average at the end of the run. */
  loadAverage: number;
  /**
   * With a `Machine`: how long the run waited for its server to go idle, and the CPU ms the
   * other processes used during it all the same (0 while they are stopped).
   */
  waitedMs?: number;
  othersCpuMs?: number;
  /** The same by process, those that used any. */
  others?: Record<string, number>;
}

/**
 * Each target alone under load, never two at once. Targets of one group run back to back;
 * round r runs the groups in their order rotated by r (A B C, B C A, C A B, …) and each
 * group's targets forwards in one round and backwards in the next (A B C, C B A), so that
 * targets listed next to each other, the two sides of a ratio, always run one right after
 * the other, and neither always goes first. The first rounds (`warmUps`) warm every server
 * up and are not kept. With `machine`, each run has the machine to itself: every process
 * but its server's is stopped from its preparation to its end, and it starts once its own
 * server has gone quiet (bench/lib/quiet.ts).
 */
export async function runRounds(
  targets: readonly Target[],
  rounds: number,
  onRound: (round: number, runs: ReadonlyMap<string, Measured>) => void,
  /** Rounds run first and not kept; `onRound` sees them as rounds 1 − warmUps … 0. */
  warmUps = 1,
  machine?: Machine,
): Promise<Map<string, Measured[]>> {
  const results = new Map<string, Measured[]>(targets.map((target) => [target.id, []]));
  const groups = new Map<string, Target[]>();
  for (const target of targets) {
    const key = target.group ?? `\0${target.id}`;
    groups.set(key, [...(groups.get(key) ?? []), target]);
  }
  const rotated = <T>(list: readonly T[], by: number) =>
    list.map((_, i) => list[(i + by) % list.length] as T);
  for (let round = 1 - warmUps; round <= rounds; round++) {
    const turn = round + warmUps - 1;
    const order = rotated([...groups.values()], turn).flatMap((group) =>
      turn % 2 === 0 ? group : [...group].reverse(),
    );
    const runs = new Map<string, Measured>();
    try {
      for (const target of order) {
        const measured = await measure(target, machine);
        runs.set(target.id, measured);
        if (round > 0) results.get(target.id)?.push(measured);
      }
    } finally {
      machine?.release();
    }
    onRound(round, runs);
  }
  return results;
}

/**
 * Before the rounds: each target marked `warm` runs `slices` times back to back, alone on the
 * machine (prepared once: a signed-in target needs its session), and `onTarget` is told the
 * CPU ms per request of each slice, so the log shows where it settled.
 */
export async function warmUp(
  targets: readonly Target[],
  slices: number,
  onTarget: (id: string, cpuMsPerRequest: number[]) => void,
  machine?: Machine,
): Promise<void> {
  for (const target of targets.filter((t) => t.warm)) {
    try {
      machine?.focus(busyFor(target));
      await target.prepare?.();
      const perRequest: number[] = [];
      for (let slice = 0; slice < slices; slice++) {
        const before = target.server.cpuMs();
        const result = await target.run();
        await target.settle?.(result);
        perRequest.push((target.server.cpuMs() - before) / result.requests);
      }
      onTarget(target.id, perRequest);
    } finally {
      machine?.release();
    }
  }
}

/** The processes a target's run keeps busy: its server and what works for it. */
const busyFor = (target: Target) => [target.server.pid, ...(target.helpers ?? [])];

async function measure(target: Target, machine: Machine | undefined): Promise<Measured> {
  const busy = busyFor(target);
  machine?.focus(busy);
  await target.prepare?.();
  const wait = await machine?.quiet();
  const othersBefore = machine?.othersCpuMs(busy);
  const before = target.server.cpuMs();
  const result = await target.run();
  await target.settle?.(result);
  const cpuMs = target.server.cpuMs() - before;
  const others: Record<string, number> = {};
  for (const [name, ms] of machine?.othersCpuMs(busy) ?? []) {
    const used = ms - (othersBefore?.get(name) ?? ms);
    if (used > 0) others[name] = used;
  }
  return {
    ...result,
    ...(wait
      ? {
          waitedMs: wait.waitedMs,
          othersCpuMs: Object.values(others).reduce((sum, ms) => sum + ms, 0),
          others,
        }
      : {}),
    cpuMs,
    cpuMsPerRequest: cpuMs / result.requests,
    loadAverage: Number((loadavg()[0] ?? 0).toFixed(2)),
  };
}
