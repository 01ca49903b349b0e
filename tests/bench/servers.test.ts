import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { once } from "node:events";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startServer, type Server } from "../../bench/lib/servers";

// A server for the bench to start: answers 200 to everything on $PORT.
const SERVER = `import { createServer } from "node:http";
createServer((_, res) => res.end("ok")).listen(Number(process.env.PORT), "127.0.0.1");
`;

/** False once the process is gone or a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("the bench's servers", () => {
  let dir: string;
  let started: Server[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "bench-servers-"));
    writeFileSync(join(dir, "server.mjs"), SERVER);
    started = [];
  });
  afterEach(async () => {
    await Promise.all(started.map((server) => server.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async () => {
    const server = await startServer({
      name: "probe",
      cwd: dir,
      env: {},
      log: join(dir, "probe.log"),
      readyPath: "/",
      script: ["server.mjs"],
    });
    started.push(server);
    return server;
  };

  it("says which server went away and how, instead of failing on a missing /proc entry", async () => {
    const server = await start();
    expect(server.cpuMs()).toBeGreaterThanOrEqual(0);
    process.kill(server.pid, "SIGHUP");
    await until(() => !alive(server.pid));
    await new Promise((r) => setTimeout(r, 50)); // the exit event
    expect(() => server.cpuMs()).toThrow(
      /^probe \(pid \d+\) is gone, killed by SIGHUP; see .*foreground/,
    );
    expect(() => server.rss()).toThrow(/probe \(pid \d+\) is gone, killed by SIGHUP/);
  });

  // A bench of its own: starts a server, stops it as a run would, then waits or fails.
  async function heldServer(then: "wait" | "throw") {
    const bench = join(dir, "bench.mts");
    writeFileSync(
      bench,
      `import { startServer } from ${JSON.stringify(resolve("bench/lib/servers.ts"))};
const server = await startServer({ name: "held", cwd: ${JSON.stringify(dir)}, env: {},
  log: ${JSON.stringify(join(dir, "held.log"))}, readyPath: "/", script: ["server.mjs"] });
process.kill(server.pid, "SIGSTOP");
console.log(server.pid);
${then === "throw" ? 'setTimeout(() => { throw new Error("a run failed"); }, 100);' : "setInterval(() => {}, 1000);"}
`,
    );
    const child = spawn(process.execPath, ["--import", "tsx", bench], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.stdout.once("data", (line: Buffer) => resolve(Number(line.toString().trim())));
      child.once("exit", (code) => reject(new Error(`the bench exited first (${code})`)));
    });
    expect(alive(pid)).toBe(true);
    return { child, pid };
  }

  it.each(["SIGTERM", "SIGINT", "SIGHUP"] as const)(
    "kills the servers it holds stopped when it is ended by %s",
    async (signal) => {
      const { child, pid } = await heldServer("wait");
      const exited = once(child, "exit");
      child.kill(signal);
      const [code] = (await exited) as [number | null];
      expect(code).toBe(128 + constants.signals[signal]);
      await until(() => !alive(pid));
    },
  );

  it("kills the servers it holds stopped when a run throws", async () => {
    const { child, pid } = await heldServer("throw");
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(1);
    await until(() => !alive(pid));
  });
});
