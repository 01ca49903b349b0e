/**
 * The production server (what `npm start` runs, on the production build) for integration
 * tests that need real instances: several app processes behind one origin, or an app whose
 * Redis goes away under it.
 *
 * The build is this test run's own: a copy of the sources is built into a directory of the
 * OS temp folder named after a hash of those sources, so it is reused while they are
 * unchanged (a warm run costs nothing), rebuilt once when they change, shared by test files
 * running in parallel (a lock directory makes one build and the others wait), and never
 * touches the checkout's own `build/`, which a developer or the browser suite may be using.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { killOnExit } from "./children";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** What the build reads: a change to any of these makes a new build. */
const INPUT_DIRS = ["app", "adapters", "public"];
const INPUT_FILES = [
  "react-router.config.ts",
  "vite.config.ts",
  "tsconfig.json",
  "package.json",
  "package-lock.json",
  // A start script of the form `node server.js` runs this file beside the build.
  "server.js",
];
const BUILD_TIMEOUT_MS = 120_000;

export interface ProductionBuild {
  /** The folder holding build/server/index.js and build/client. */
  dir: string;
  /** True when this call built it; false when a build of the same sources was reused. */
  built: boolean;
  /** How long getting the build took, ms. */
  ms: number;
}

function sourceHash(): string {
  const hash = createHash("sha256");
  const visit = (relative: string) => {
    const absolute = path.join(ROOT, relative);
    const stat = statSync(absolute, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isDirectory()) {
      for (const name of readdirSync(absolute).sort()) visit(path.join(relative, name));
    } else if (!/\.test\.tsx?$/.test(relative)) {
      hash.update(`${relative}\0`).update(readFileSync(absolute)).update("\0");
    }
  };
  for (const input of [...INPUT_DIRS, ...INPUT_FILES]) visit(input);
  // The build links this checkout's node_modules: another checkout of the same sources
  // (a second clone, a CI copy) gets a build of its own, not a link into a folder that
  // may since have been removed or reinstalled.
  hash.update(`node_modules\0${path.join(ROOT, "node_modules")}`);
  return hash.digest("hex").slice(0, 16);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The production build of the current sources, made at most once per change of them.
 * Throws with the build's output when `react-router build` fails.
 */
export async function productionBuild(): Promise<ProductionBuild> {
  const started = Date.now();
  const base = path.join(tmpdir(), "pls-build");
  const dir = path.join(base, sourceHash());
  const entry = path.join(dir, "build/server/index.js");
  const lock = `${dir}.lock`;
  mkdirSync(base, { recursive: true });
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  for (;;) {
    if (existsSync(entry)) return { dir, built: false, ms: Date.now() - started };
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another test file is building these sources: wait for it. A lock left by a build
      // that died is taken over once it is older than a build can take.
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > BUILD_TIMEOUT_MS) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`timed out waiting for the build in ${dir}`);
      await sleep(100);
    }
  }
  try {
    if (existsSync(entry)) return { dir, built: false, ms: Date.now() - started };
    const work = `${dir}.partial-${process.pid}`;
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    for (const input of [...INPUT_DIRS, ...INPUT_FILES]) {
      if (existsSync(path.join(ROOT, input)))
        cpSync(path.join(ROOT, input), path.join(work, input), { recursive: true });
    }
    // The build and the server resolve packages from the checkout's node_modules.
    symlinkSync(path.join(ROOT, "node_modules"), path.join(work, "node_modules"), "dir");
    const bin = path.join(ROOT, "node_modules/@react-router/dev/bin.cjs");
    const output = await run(process.execPath, [bin, "build"], work);
    if (!existsSync(path.join(work, "build/server/index.js")))
      throw new Error(`react-router build made no server build:\n${output}`);
    renameSync(work, dir);
    pruneOldBuilds(base, dir);
    return { dir, built: true, ms: Date.now() - started };
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Builds of older sources, unused for a day, are removed. */
function pruneOldBuilds(base: string, keep: string): void {
  for (const name of readdirSync(base)) {
    const full = path.join(base, name);
    if (full === keep || name.endsWith(".lock")) continue;
    const stat = statSync(full, { throwIfNoEntry: false });
    if (stat && Date.now() - stat.mtimeMs > 86_400_000)
      rmSync(full, { recursive: true, force: true });
  }
}

function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        NODE_ENV: "production",
      },
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`react-router build failed (${code}):\n${output}`)),
    );
  });
}

/** A port the kernel reports free on 127.0.0.1 (released again before the server binds it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

/**
 * `npm start` as node arguments, relative to the build folder: `node server.js` runs that
 * file (copied beside the build), `react-router-serve <build>` runs the serve CLI.
 */
function startCommand(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    scripts?: Record<string, string>;
  };
  const [command, target] = (pkg.scripts?.start ?? "").trim().split(/\s+/);
  if (command === "node" && target) return [target];
  if (command === "react-router-serve" && target) {
    return [path.join(ROOT, "node_modules/@react-router/serve/bin.cjs"), target];
  }
  throw new Error(`cannot run the start script ${JSON.stringify(pkg.scripts?.start)}`);
}

export interface ProductionServer {
  /** `http://127.0.0.1:PORT`: where to send requests (APP_ORIGIN is whatever the env says). */
  readonly url: string;
  readonly port: number;
  /** The server's output so far (the end of it), for failure messages. */
  output(): string;
  /** SIGTERM, then wait for the exit. Idempotent. */
  stop(): Promise<void>;
  /**
   * Send `signal` (SIGTERM: a deploy; SIGKILL: a crash) and wait for the exit, however long
   * the server takes; how it ended.
   */
  signal(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL: the process dies at once, mid-work (a crash); resolves when it has exited. */
  kill(): Promise<void>;
}

/**
 * Start what `npm start` runs, from `build.dir`, with NODE_ENV=production, exactly `env`
 * (nothing of the test process's own environment but PATH; Node's compile cache is on), on
 * a free port of 127.0.0.1. Resolves once `/healthz` answers at all (200 or 503).
 *
 * Without `DATA_DIR` in `env` the server gets a fresh, empty one (removed when it stops), so
 * no state carries over between servers; a restart test passes one folder to both.
 */
export async function startProductionServer(
  build: ProductionBuild,
  env: Record<string, string>,
): Promise<ProductionServer> {
  const port = await freePort();
  const ownDataDir = env.DATA_DIR ? undefined : mkdtempSync(path.join(tmpdir(), "pls-data-"));
  const child = spawn(process.execPath, startCommand(), {
    cwd: build.dir,
    env: {
      PATH: process.env.PATH ?? "",
      TZ: "UTC",
      // Node keeps the compiled modules beside the build, so every server after the first
      // starts sooner (tests start dozens); it changes nothing the app does.
      NODE_COMPILE_CACHE: path.join(build.dir, ".node-compile-cache"),
      ...(ownDataDir ? { DATA_DIR: ownDataDir } : {}),
      ...env,
      NODE_ENV: "production",
      PORT: String(port),
      HOST: "127.0.0.1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // A test process that dies early must not leave servers behind.
  killOnExit(child);
  child.once("exit", () => {
    if (ownDataDir) rmSync(ownDataDir, { recursive: true, force: true });
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const url = `http://127.0.0.1:${port}`;
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const signal = async (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    return ended;
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    // The server closes on SIGTERM; a keep-alive socket could hold it open.
    const timer = setTimeout(() => child.kill("SIGKILL"), 2_000);
    await exited;
    clearTimeout(timer);
  };
  // Generous: on a busy machine a cold start of the production build can take a while.
  const deadline = Date.now() + 45_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`the server exited (${child.exitCode}):\n${output}`);
    try {
      const response = await fetch(`${url}/healthz`);
      await response.arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`the server did not answer within 45 s:\n${output}`);
      }
      await sleep(25);
    }
  }
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  };
  return { url, port, output: () => output, stop, signal, kill };
}
