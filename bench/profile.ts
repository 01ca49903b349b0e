/**
 * `npx tsx bench/profile.ts [target] [requests]`: where one target's time goes.
 *
 * Runs the current production build (run `npm run build` first; the bare app must have
 * been built by `npm run bench`), warms it up with PROFILE_WARM requests (20,000 for a page),
 * sends `requests` (default 6000) at 50 connections with the profiler on for those alone,
 * stops it, and prints the profile's busy time by package and by function, with the CPU ms
 * per request from /proc. Targets: `out` (/ signed out),
 * `in` (/ signed in), `dashboard`, `login-post`, `verify` (POST /login/check, each code of its
 * own sign-in, started and mailed before the measurement), `healthz`, `bare`. The .cpuprofile stays in
 * bench/results/profiles/ for Chrome DevTools or speedscope; `npx tsx bench/profile.ts
 * file.cpuprofile` summarises one again. PROFILE_STORE=memory runs the starter on another store.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startSmtpSink } from "../tests/support/smtp-sink";
import { load, type LoadResult } from "./lib/load";
import { freePort, startServer, STARTER_SCRIPT, type Server } from "./lib/servers";
import {
  distinctLogins,
  postCodes,
  prepareSignIns,
  signIn,
  type PendingSignIn,
} from "./lib/signin";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "bench", "results", "profiles");

const PROBE = new URL("./lib/profile-probe.mjs", import.meta.url).href;

/** SIGUSR2 to the probe, then wait for the file it writes in answer. */
async function toggleProfiler(pid: number, answer: string): Promise<void> {
  process.kill(pid, "SIGUSR2");
  const until = Date.now() + 30_000;
  while (!existsSync(answer)) {
    if (Date.now() > until) throw new Error(`the profiler did not answer: no ${answer}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const TARGETS = ["out", "in", "dashboard", "login-post", "verify", "healthz", "bare"] as const;
type Target = (typeof TARGETS)[number];

async function main() {
  // A .cpuprofile already taken: only summarise it.
  if (process.argv[2]?.endsWith(".cpuprofile")) return summarise(process.argv[2]);
  const target = (process.argv[2] ?? "in") as Target;
  if (!TARGETS.includes(target)) throw new Error(`target: one of ${TARGETS.join(", ")}`);
  const amount = Number(process.argv[3] ?? 6000);
  // PROFILE_WARM=N requests before the measured ones: 20,000 for a page, 1,000 for the
  // sign-in targets (each of their requests is a sign-in of its own).
  const sign = target === "login-post" || target === "verify";
  const warmRequests = Number(process.env.PROFILE_WARM ?? (sign ? 1000 : 20_000));
  if (!Number.isInteger(warmRequests) || warmRequests < 0) {
    throw new Error(`PROFILE_WARM: a whole number of requests (got "${process.env.PROFILE_WARM}")`);
  }
  const dir = join(OUT, `${target}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const sink = await startSmtpSink();
  const port = await freePort();
  // The profiler runs only around the measured requests (./lib/profile-probe.mjs).
  const profileFile = join(dir, "measured.cpuprofile");
  const nodeArgs = ["--import", PROBE];
  const probe = { BENCH_PROFILE_OUT: profileFile };
  const server: Server =
    target === "bare"
      ? await startServer({
          name: "bare",
          cwd: join(ROOT, "bench", "bare"),
          env: { NODE_ENV: "production", PORT: String(port), ...probe },
          log: join(dir, "server.log"),
          readyPath: "/",
          nodeArgs,
        })
      : await startServer({
          name: "starter",
          cwd: ROOT,
          script: STARTER_SCRIPT,
          env: {
            NODE_ENV: "production",
            AUTH_ADAPTER: "local",
            SESSION_SECRETS: randomBytes(36).toString("base64url"),
            RATE_LIMIT_IP_PER_HOUR: "1000000000",
            MAIL_TRANSPORT: "smtp",
            SMTP_URL: sink.url,
            MAIL_FROM: "Bench <bench@example.com>",
            PORT: String(port),
            APP_ORIGIN: `http://127.0.0.1:${port}`,
            DATA_DIR: join(dir, "data"),
            ...probe,
            // PROFILE_STORE=memory (or redis, with REDIS_URL): the same target on another store.
            ...(process.env.PROFILE_STORE ? { STORE: process.env.PROFILE_STORE } : {}),
            ...(process.env.PROFILE_STORE === "redis"
              ? { REDIS_URL: process.env.REDIS_URL ?? "" }
              : {}),
          },
          log: join(dir, "server.log"),
          readyPath: "/healthz",
          nodeArgs,
        });
  try {
    const cookie =
      target === "in" || target === "dashboard"
        ? await signIn(server, sink, "profile@example.com")
        : undefined;
    const path = { dashboard: "/dashboard", healthz: "/healthz" }[target as string] ?? "/";
    /** Prepares a run (for `verify`, its sign-ins) and hands back what starts it. */
    const run = async (requests: number, prefix: string): Promise<() => Promise<LoadResult>> => {
      if (target === "verify") {
        // autocannon builds one request more than it sends on each connection.
        const prepared: PendingSignIn[] = await prepareSignIns(server, sink, prefix, requests + 60);
        return () => postCodes(server, prepared, { connections: 50, amount: requests });
      }
      return () =>
        target === "login-post"
          ? load({
              url: `${server.origin}/login`,
              connections: 50,
              amount: requests,
              method: "POST",
              expectStatus: 303,
              setup: distinctLogins(server, prefix),
            })
          : load({
              url: `${server.origin}${path}`,
              connections: 50,
              amount: requests,
              headers: cookie ? { Cookie: cookie } : undefined,
              expectStatus: 200,
            });
    };
    // Warmed as `npm run bench` warms its servers (bench/lib/rounds.ts, Target.warm): the
    // CPU per request falls for the first 15,000–20,000 requests.
    for (let done = 0; done < warmRequests; done += 2000) {
      await (
        await run(Math.min(2000, warmRequests - done), `warm${done}`)
      )();
    }
    // The preparation (the sign-ins `verify` checks) is in neither the profile nor the CPU
    // per request.
    const start = await run(amount, "profile");
    await toggleProfiler(server.pid, `${profileFile}.started`);
    const before = server.cpuMs();
    const result = await start();
    const cpu = server.cpuMs() - before;
    await toggleProfiler(server.pid, profileFile);
    process.stdout.write(
      `${target}: ${result.requests} requests, ${result.rps.toFixed(0)}/s, ${(cpu / result.requests).toFixed(3)} ms CPU per request\n`,
    );
  } finally {
    await server.stop();
    await sink.close();
  }
  summarise(profileFile);
  rmSync(join(dir, "data"), { recursive: true, force: true });
}

interface Profile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time by package (or file) and by function, as shares of the busy (non-idle) time. */
function summarise(file: string) {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const frame = nodes.get(id)?.callFrame;
    const dt = profile.timeDeltas[i] ?? 0;
    if (!frame || frame.functionName === "(idle)") return;
    busy += dt;
    const url = frame.url.replace(/^file:\/\//, "");
    const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
    const where =
      inModules ??
      (url.startsWith("node:")
        ? url.replace(/^node:(internal\/)?/, "node:").replace(/\/[^/]*$/, "")
        : url
          ? url.replace(`${ROOT}/`, "")
          : frame.functionName);
    byPackage.set(where, (byPackage.get(where) ?? 0) + dt);
    const name = `${frame.functionName || "(anonymous)"} ${url.split("/").slice(-1)[0] ?? ""}:${frame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + dt);
  });
  const top = (map: Map<string, number>, n: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([key, us]) => `  ${((us / busy) * 100).toFixed(1).padStart(5)}%  ${key}`)
      .join("\n");
  process.stdout.write(
    `profile ${file}\nbusy ${(busy / 1000).toFixed(0)} ms; by package or file:\n${top(byPackage, 20)}\n` +
      `by function:\n${top(byFunction, 30)}\n`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
