/**
 * Starts the app as a person's browser meets it: the production build under
 * `react-router-serve` (what `npm start` runs), or `react-router dev`, on a free port of
 * 127.0.0.1, with exactly the environment a journey needs. Ready means `/healthz` answers
 * 200; `close()` stops the process and waits for it to exit.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** A fixed test secret (≥ 32 characters, S18); never use it anywhere else. */
export const E2E_SESSION_SECRET = "e2e-only-session-secret-0123456789abcdef";

export interface AppServerOptions {
  /** Shown in errors and logs. */
  name: string;
  /** `production` (default): the build from global setup; `dev`: `react-router dev`. */
  mode?: "production" | "dev";
  /** App variables on top of the defaults (APP_ORIGIN, SESSION_SECRETS, PORT, HOST are set here). */
  env?: Record<string, string>;
  /**
   * Seconds between two sends to one address, when a journey needs less than the
   * production 60 s (as RATE_LIMIT_EMAIL_SPACING). Production mode only.
   */
  emailSpacingSeconds?: number;
  /** How long to wait for `/healthz`; the dev server compiles on first request. */
  readyTimeoutMs?: number;
  /**
   * The host of APP_ORIGIN (the server still listens on 127.0.0.1). `localhost` for
   * passkey journeys: WebAuthn refuses an IP address as the relying party id.
   */
  originHost?: "127.0.0.1" | "localhost";
}

export interface AppServer {
  readonly name: string;
  /** http://127.0.0.1:PORT (or localhost), also the server's APP_ORIGIN (the S25 origin check compares the two). */
  readonly origin: string;
  url(pathname: string): string;
  /** The server's recent output, for failure messages. */
  output(): string;
  close(): Promise<void>;
}

const running = new Set<ChildProcess>();
// A worker that dies mid-run must not leave servers behind.
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** A port the kernel reports free on 127.0.0.1 (it is released again before the server binds it). */
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
 * `npm start` as node arguments: `node server.js` runs that file (global setup copies it
 * beside the build), `react-router-serve <build>` runs the serve CLI.
 */
export function startCommand(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    scripts?: Record<string, string>;
  };
  const start = (pkg.scripts?.start ?? "").trim().split(/\s+/);
  if (start[0] === "node" && start[1]) return [start[1]];
  if (start[0] === "react-router-serve" && start[1]) {
    return [path.join(ROOT, "node_modules/@react-router/serve/bin.cjs"), start[1]];
  }
  throw new Error(
    `cannot run the start script ${JSON.stringify(pkg.scripts?.start)} in the browser suite`,
  );
}

/** Where global setup put this run's production build (its own copy, see global-setup.ts). */
export function buildRoot(): string {
  const root = process.env.E2E_BUILD_ROOT;
  if (!root)
    throw new Error(
      "E2E_BUILD_ROOT is not set: run the suite with `npm run test:e2e` (global setup builds the app)",
    );
  return root;
}

export async function startAppServer(options: AppServerOptions): Promise<AppServer> {
  const mode = options.mode ?? "production";
  const port = await freePort();
  const origin = `http://${options.originHost ?? "127.0.0.1"}:${port}`;
  // A clean environment: nothing from the shell that runs the suite leaks into the app.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    LANG: "C.UTF-8",
    TZ: "UTC",
    APP_ORIGIN: origin,
    SESSION_SECRETS: E2E_SESSION_SECRET,
    PORT: String(port),
    HOST: "127.0.0.1",
    ...options.env,
  };
  // The default SQLite store, in a folder of this server's own: no state carries over from
  // another journey or an earlier run (a journey that needs a restart passes its DATA_DIR).
  const ownDataDir = env.DATA_DIR ? undefined : mkdtempSync(path.join(tmpdir(), "pls-e2e-data-"));
  if (ownDataDir) env.DATA_DIR = ownDataDir;
  let command: string;
  let args: string[];
  let cwd: string;
  if (mode === "production") {
    env.NODE_ENV = "production";
    command = process.execPath;
    // A journey that sends a second email to one address within a minute ("send it again"
    // after a 3-second link expired) shortens the per-address spacing (S11) by configuration.
    if (options.emailSpacingSeconds !== undefined)
      env.RATE_LIMIT_EMAIL_SPACING = String(options.emailSpacingSeconds);
    // Run what `npm start` runs, from this run's own copy of the build (global-setup.ts),
    // whose assets directory is named relative to the working directory ("build/client").
    cwd = buildRoot();
    args = startCommand();
  } else {
    if (options.emailSpacingSeconds !== undefined)
      throw new Error("emailSpacingSeconds is for production servers");
    command = process.execPath;
    cwd = ROOT;
    args = [
      path.join(ROOT, "node_modules/@react-router/dev/bin.cjs"),
      "dev",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--strictPort",
    ];
  }

  const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    if (lines.length > 300) lines.splice(0, lines.length - 300);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  void exited.then(() => running.delete(child));
  const output = () => lines.join("\n");

  const server: AppServer = {
    name: options.name,
    origin,
    url: (pathname) => new URL(pathname, origin).toString(),
    output,
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      if (ownDataDir) rmSync(ownDataDir, { recursive: true, force: true });
    },
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  for (;;) {
    if (exitCode !== undefined) {
      throw new Error(
        `${options.name} server exited (${exitCode}) before it was ready:\n${output()}`,
      );
    }
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`, {
        signal: AbortSignal.timeout(5_000),
      });
      if (response.ok) return server;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await server.close();
      throw new Error(`${options.name} server not ready at ${origin} in time:\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
