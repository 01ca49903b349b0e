import { cpuMsOf } from "./servers";

/**
 * The bench's processes, held still so that none works while another is measured. Each
 * starter has work of its own besides requests (its expiry sweep every 30 s, the mail queue
 * delivering what a sign-in run queued, SQLite checkpoints, V8 collecting a heap that grew
 * in its last run), and on two cores that work takes the core the load generator or the
 * measured server needs: 10–150 ms of other processes' CPU fell inside runs of about one
 * second before they were stopped. A run has the machine to itself: its own server (and what
 * works for it, such as its redis-server) runs, every other one is stopped (SIGSTOP) and
 * catches up on its timers when it is next measured, before its run starts.
 */
export interface Machine {
  /** Lets `pids` run and stops every other watched process, until the next focus or release. */
  focus(pids: readonly number[]): void;
  /** Lets every watched process run again. */
  release(): void;
  /**
   * Resolves once every watched process has been idle for `windowMs` (together at most
   * `idleMs` of CPU in that window), or after `maxWaitMs` if they never are.
   */
  quiet(): Promise<QuietWait>;
  /** CPU ms each watched process but those in `except` has used so far, by name. */
  othersCpuMs(except: readonly number[]): Map<string, number>;
}

export interface QuietWait {
  waitedMs: number;
  /** False when `maxWaitMs` passed with something still busy. */
  quiet: boolean;
}

export interface MachineOptions {
  /** The processes to watch, read each time (a server may be started later). */
  processes: () => ReadonlyArray<{ name: string; pid: number }>;
  /** CPU ms of one process; /proc by default. */
  cpuMsOf?: (pid: number) => number;
  windowMs?: number;
  /** /proc counts in 10 ms ticks: one tick in the window still reads as idle. */
  idleMs?: number;
  maxWaitMs?: number;
  pollMs?: number;
  /** For tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  signal?: (pid: number, signal: "SIGSTOP" | "SIGCONT") => void;
}

export function watchMachine(options: MachineOptions): Machine {
  const read = options.cpuMsOf ?? cpuMsOf;
  const windowMs = options.windowMs ?? 500;
  const idleMs = options.idleMs ?? 10;
  const maxWaitMs = options.maxWaitMs ?? 15_000;
  const pollMs = options.pollMs ?? 100;
  const now = options.now ?? Date.now;
  const sleep =
    options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const signal =
    options.signal ??
    ((pid: number, name: "SIGSTOP" | "SIGCONT") => {
      try {
        process.kill(pid, name);
      } catch {
        // Gone already: nothing to hold or let go.
      }
    });
  const each = (except: readonly number[]) =>
    new Map(
      options
        .processes()
        .filter(({ pid }) => !except.includes(pid))
        .map(({ name, pid }) => [name, read(pid)]),
    );
  const total = () => [...each([]).values()].reduce((sum, ms) => sum + ms, 0);

  return {
    focus(pids) {
      // Let the focused ones go first, so no moment has every process stopped.
      for (const pid of pids) signal(pid, "SIGCONT");
      for (const { pid } of options.processes()) if (!pids.includes(pid)) signal(pid, "SIGSTOP");
    },
    release() {
      for (const { pid } of options.processes()) signal(pid, "SIGCONT");
    },
    async quiet() {
      const start = now();
      // (time, CPU so far) of the last polls, oldest first.
      const samples: Array<[number, number]> = [[start, total()]];
      for (;;) {
        await sleep(pollMs);
        const at = now();
        samples.push([at, total()]);
        while (samples.length > 1 && (samples[1] as [number, number])[0] <= at - windowMs) {
          samples.shift();
        }
        const [since, cpuThen] = samples[0] as [number, number];
        const cpuNow = (samples[samples.length - 1] as [number, number])[1];
        if (at - since >= windowMs && cpuNow - cpuThen <= idleMs) {
          return { waitedMs: at - start, quiet: true };
        }
        if (at - start >= maxWaitMs) return { waitedMs: at - start, quiet: false };
      }
    },
    othersCpuMs: each,
  };
}
