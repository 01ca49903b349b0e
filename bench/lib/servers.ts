import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { constants } from "node:os";
import { dirname, join } from "node:path";
import { killOnExit } from "../../tests/support/children";

const require = createRequire(import.meta.url);

/** react-router-serve's own script, run with this Node directly so the child's pid is the server's. */
const SERVE_BIN = join(dirname(require.resolve("@react-router/serve/package.json")), "bin.cjs");
const ROUTER_BIN = join(dirname(require.resolve("@react-router/dev/package.json")), "bin.cjs");

/** `react-router build` in `cwd` (the starter, or the bare fixture with its own config). */
export async function build(cwd: string, log: string): Promise<void> {
  await run(process.execPath, [ROUTER_BIN, "build"], {
    cwd,
    log,
    env: { ...process.env, NODE_ENV: "production" },
  });
}

/** A port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

export interface Server {
  name: string;
  origin: string;
  pid: number;
  /** Resident set size of the server process, in bytes (from /proc). */
  rss(): number;
  /**
   * CPU time the server process has used so far, user + system, every thread (the event
   * loop, the garbage collector, libuv's pool), in ms, from /proc. The difference around a
   * run, divided by its requests, is what a request costs, however busy the machine is.
   */
  cpuMs(): number;
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  /** The folder holding build/server/index.js. */
  cwd: string;
  /** Variables for the server; PATH is added, nothing else is inherited. */
  env: Record<string, string>;
  /** Where its stdout and stderr go. */
  log: string;
  /** A path that answers 200 once it is ready. */
  readyPath: string;
  /** Flags for Node itself, before the script. */
  nodeArgs?: string[];
  /**
   * The script and its arguments, run with this Node in `cwd`; by default react-router-serve
   * on ./build/server/index.js (the bare app). The starter runs its own server.js.
   */
  script?: string[];
}

/** How the starter's production server is started by `npm start`. */
export const STARTER_SCRIPT = ["server.js"];

/** Start a server on a free 127.0.0.1 port and wait until it answers. */
export async function startServer(options: StartOptions): Promise<Server> {
  const port = Number(options.env.PORT ?? (await freePort()));
  const fd = openSync(options.log, "w");
  // A clean environment: a REDIS_URL or SMTP_URL in the caller's shell must not change the run.
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), ...(options.script ?? [SERVE_BIN, "./build/server/index.js"])],
    {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? "", ...options.env, PORT: String(port), HOST: "127.0.0.1" },
      stdio: ["ignore", fd, fd],
    },
  );
  closeSync(fd);
  killOnExit(child);
  exitOnSignals();
  const origin = `http://127.0.0.1:${port}`;
  await waitUntilReady(child, `${origin}${options.readyPath}`, options.log);
  const pid = child.pid as number;
  // A server that went away mid-run: say which, and how, rather than that /proc has no entry.
  const whileAlive =
    <T>(read: (pid: number) => T) =>
    (): T => {
      try {
        return read(pid);
      } catch (error) {
        if (child.exitCode === null && child.signalCode === null) throw error;
        const how = child.signalCode
          ? `killed by ${child.signalCode}`
          : `exited with code ${child.exitCode}`;
        throw new Error(
          `${options.name} (pid ${pid}) is gone, ${how}; see ${options.log}` +
            (child.signalCode === "SIGHUP" ? `. ${WHY_SIGHUP}` : ""),
          { cause: error },
        );
      }
    };
  return {
    name: options.name,
    origin,
    pid,
    rss: whileAlive(rssOf),
    cpuMs: whileAlive(cpuMsOf),
    stop: () => stop(child),
  };
}

const WHY_SIGHUP =
  "The kernel sends SIGHUP to a process group with stopped processes (the bench holds " +
  "servers still with SIGSTOP) when the group loses its parent shell: run the bench in the " +
  "foreground, not in the background of a shell that exits";

/**
 * The bench holds all its servers but one still (SIGSTOP) during each run, and a stopped
 * process keeps a SIGINT or SIGTERM pending until it runs again: a bench ended by a signal
 * would leave them stopped for good. It exits instead, so that `killOnExit` kills them.
 */
let exitsOnSignals = false;

function exitOnSignals(): void {
  if (exitsOnSignals) return;
  exitsOnSignals = true;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => process.exit(128 + constants.signals[signal]));
  }
}

async function waitUntilReady(child: ChildProcess, url: string, log: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(
        `server exited (${child.exitCode}); see ${log}:\n${readFileSync(log, "utf8")}`,
      );
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`server at ${url} did not answer within 20 s; see ${log}`);
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    // A server the bench held still (bench/lib/quiet.ts) handles SIGTERM only once let go.
    child.kill("SIGCONT");
    child.kill("SIGTERM");
  });
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb) * 1024;
}

/** Clock ticks per second of /proc's CPU times (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process (all its threads), in ms. */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name, in parentheses, may hold spaces: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 (utime) and 15 (stime) of proc(5); the list starts at field 3 (state).
  const ticks = Number(fields[11]) + Number(fields[12]);
  if (!Number.isFinite(ticks)) throw new Error(`unreadable /proc/${pid}/stat`);
  return (ticks * 1000) / TICKS_PER_SECOND;
}

function run(
  command: string,
  args: string[],
  options: { cwd: string; log: string; env: NodeJS.ProcessEnv },
): Promise<void> {
  const fd = openSync(options.log, "w");
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0
        ? resolve()
        : reject(
            new Error(`${args.join(" ")} in ${options.cwd} failed (${code}); see ${options.log}`),
          ),
    );
  });
}
