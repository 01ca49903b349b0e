/**
 * `npm run bench`: what the starter's sign-in costs over React Router itself.
 *
 * Builds the starter and a bare React Router app of the same version that renders the same
 * page (bench/bare), starts the bare app with react-router-serve and the starter with its
 * own server.js (what `npm start` runs) on 127.0.0.1, and drives one target at a time with
 * autocannon, the same settings for every target, in rounds whose order rotates. Each figure
 * is the median of the rounds with min–max, as throughput and as CPU time per request of
 * the server process (from /proc), which stays meaningful on a busy machine where throughput
 * does not. Comparisons are ratios taken within a round. The memory run and the cold starts
 * are phases of their own. Prints one table with the targets met or not, and writes every
 * run to bench/results/latest.json.
 *
 * BENCH_QUICK=1 runs a short plan (2 rounds of 400 requests) for development;
 * BENCH_ONLY=js,rounds,relay,micro,memory,cold picks phases.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { findRedisServer, startRedisServer, type RedisServer } from "../tests/support/redis-server";
import { startSmtpSink, type SmtpSink } from "../tests/support/smtp-sink";
import { clientJsFor, scriptsLoadedBy, type ClientJs } from "./lib/client-js";
import { CHROMIUM } from "../playwright.config";
import { firstDifference } from "./lib/document";
import { load, type LoadResult } from "./lib/load";
import { planFromEnv, type Plan } from "./lib/plan";
import { watchMachine } from "./lib/quiet";
import {
  measureRelayFaults,
  relayFaultRows,
  type RelayFaultRow,
  type RelayFaultsResult,
} from "./lib/relay-faults";
import { runRounds, warmUp, type Measured, type Target } from "./lib/rounds";
import {
  build,
  freePort,
  startServer,
  STARTER_SCRIPT,
  type Server,
  type StartOptions,
} from "./lib/servers";
import {
  distinctLogins,
  postCodes,
  prepareSignIns,
  signIn,
  takeMessages,
  waitForDeliveries,
  walkWithoutJavaScript,
  type PendingSignIn,
} from "./lib/signin";
import { summarise, type Summary } from "./lib/stats";
import { runMicroBenchmarks, type MicroResult } from "./micro";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BARE = join(ROOT, "bench", "bare");
const RESULTS = join(ROOT, "bench", "results");

/** Raised for the run, and said so in the output: every request comes from 127.0.0.1. */
const RATE_LIMIT_IP_PER_HOUR = "1000000000";

/** The targets of issue 15, as measured on an idle 2-core machine. */
const TARGETS = {
  starterOverBare: 0.97,
  starterOverBareCpu: 1.03,
  signedInOverOut: 0.97,
  loginP99Ms: 50,
  /** Issue 14: POST /login against a relay that is down, or drips. */
  loginRelayFaultP99Ms: 200,
  loginCpuOverGet: 2,
  verifyP99Ms: 50,
  healthzCpuOverPage: 0.2,
  memoryWithin: 0.1,
  loginJsExtraKb: 5,
};

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  const plan = planFromEnv();
  mkdirSync(RESULTS, { recursive: true });
  const machine = {
    cpus: cpus().length,
    cpuModel: cpuModel(),
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    reactRouter: packageVersion("react-router"),
    loadAverageAtStart: loadavg().map((n) => Number(n.toFixed(2))),
  };
  say(
    `npm run bench${plan.quick ? " (BENCH_QUICK: too few runs to quote)" : ""} — ${machine.cpus} × ${machine.cpuModel}, ` +
      `${machine.memoryGb} GB, Node ${machine.node}, React Router ${machine.reactRouter}, ` +
      `load average ${machine.loadAverageAtStart.join(", ")}`,
  );
  say(
    `Starter: server.js, NODE_ENV=production, AUTH_ADAPTER=local, RATE_LIMIT_IP_PER_HOUR raised to ${RATE_LIMIT_IP_PER_HOUR} ` +
      `for this run (every request comes from 127.0.0.1); per-address limits stay on and do not bite: every sign-in uses its own address.`,
  );
  say(
    `Every target alone, ${plan.connections} connections, ${plan.amount} requests a run ` +
      `(/healthz ${plan.healthzAmount}, the steady-rate runs ${plan.steadyAmount} at ${plan.steadyRate} req/s), ` +
      `each GET target's own requests ${plan.warmUpSlices} × first, ` +
      `${plan.warmUpRounds === 1 ? "a warm-up round" : `${plan.warmUpRounds} warm-up rounds`}, then ` +
      `${plan.rounds} rounds in rotating order, the two sides of each ratio back to back, every other server stopped during a run; medians (min–max) of throughput and of the server process's CPU ms per request.`,
  );

  say("· building the starter and the bare app (react-router build)");
  await build(ROOT, join(RESULTS, "build-starter.log"));
  await build(BARE, join(RESULTS, "build-bare.log"));

  const secrets = randomBytes(36).toString("base64url");
  const sink = await startSmtpSink();
  const result: Partial<Figures> = {};
  try {
    if (plan.phases.has("js")) result.js = await measureClientJs(secrets, sink);
    if (plan.phases.has("rounds")) result.rounds = await measureRounds(plan, secrets, sink);
    if (plan.phases.has("relay")) {
      result.relay = await measureRelayFaults(
        plan,
        sink,
        (name, env) => startStarter(name, secrets, env),
        say,
      );
    }
    if (plan.phases.has("micro")) {
      say("· micro-benchmarks (tinybench, in this process)");
      result.micro = await runMicroBenchmarks(plan.microTimeMs);
    }
    if (plan.phases.has("memory")) result.memory = await measureMemory(plan, secrets);
    if (plan.phases.has("cold")) result.cold = await measureColdStart(plan, secrets, sink);
  } finally {
    await sink.close();
  }

  const previous = readPrevious();
  const report = buildReport(plan, result, previous);
  say("");
  say(report.table);
  say("");
  say(report.summary);
  if (report.drift) say(report.drift);
  const json = {
    date: new Date().toISOString(),
    seconds: (Date.now() - started) / 1000,
    machine: { ...machine, loadAverageAtEnd: loadavg().map((n) => Number(n.toFixed(2))) },
    plan: { ...plan, phases: [...plan.phases] },
    rateLimitIpPerHour: Number(RATE_LIMIT_IP_PER_HOUR),
    targets: TARGETS,
    ratios: report.ratios,
    met: report.met,
    figures: result,
  };
  writeFileSync(join(RESULTS, "latest.json"), `${JSON.stringify(json, null, 2)}\n`);
  say(`Figures written to bench/results/latest.json (${json.seconds.toFixed(0)} s in all).`);
}

interface Figures {
  js: ClientJsResult;
  rounds: RoundsResult;
  relay: RelayFaultsResult;
  micro: MicroResult[];
  memory: MemoryResult;
  cold: ColdStartResult;
}

// ---------------------------------------------------------------------------------------
// Servers

function starterEnv(secrets: string, extra: Record<string, string>): Record<string, string> {
  return {
    NODE_ENV: "production",
    AUTH_ADAPTER: "local",
    SESSION_SECRETS: secrets,
    RATE_LIMIT_IP_PER_HOUR,
    ...extra,
  };
}

const smtp = (sink: SmtpSink) => ({
  MAIL_TRANSPORT: "smtp",
  SMTP_URL: sink.url,
  MAIL_FROM: "Bench <bench@example.com>",
});

/** A fresh data folder for one starter: the SQLite store starts empty every run. */
function dataDir(name: string): string {
  const dir = join(RESULTS, `data-${name}`);
  rmSync(dir, { recursive: true, force: true });
  return dir;
}

/** Start the starter with its own server.js; APP_ORIGIN must match the port, chosen first. */
async function startStarter(
  name: string,
  secrets: string,
  extra: Record<string, string>,
  options: Partial<StartOptions> = {},
): Promise<Server> {
  const port = await freePort();
  return startServer({
    name,
    cwd: ROOT,
    script: STARTER_SCRIPT,
    env: starterEnv(secrets, {
      PORT: String(port),
      APP_ORIGIN: `http://127.0.0.1:${port}`,
      DATA_DIR: dataDir(name),
      ...extra,
    }),
    log: join(RESULTS, `${name}.log`),
    readyPath: "/healthz",
    ...options,
  });
}

async function startBare(): Promise<Server> {
  return startServer({
    name: "bare",
    cwd: BARE,
    env: { NODE_ENV: "production" },
    log: join(RESULTS, "bare.log"),
    readyPath: "/",
  });
}

// ---------------------------------------------------------------------------------------
// Client JavaScript, and every sign-in page without it

interface ClientJsResult {
  login: ClientJs;
  bare: ClientJs;
  /** The sign-in walked with plain HTML forms, step by step; null when it worked. */
  withoutJs: { steps: string[]; error: string | null };
}

async function measureClientJs(secrets: string, sink: SmtpSink): Promise<ClientJsResult> {
  say(
    "· client JS of /login and of the bare page (manifest and Chromium); a sign-in with JavaScript off",
  );
  const app = await startStarter("starter-nojs", secrets, smtp(sink));
  try {
    // What the manifest lists, and whatever else a browser fetches as the page opens (a
    // lazy chunk started on first paint is sent as surely as a modulepreloaded one).
    const bareServer = await startBare();
    let bareLoaded: string[];
    try {
      bareLoaded = await scriptsLoadedBy(bareServer.origin + "/", CHROMIUM);
    } finally {
      await bareServer.stop();
    }
    const login = clientJsFor(
      join(ROOT, "build", "client"),
      ["root", "routes/login"],
      await scriptsLoadedBy(app.origin + "/login", CHROMIUM),
    );
    const bare = clientJsFor(join(BARE, "build", "client"), ["root", "routes/home"], bareLoaded);
    for (const [name, js] of [
      ["/login", login],
      ["bare /", bare],
    ] as const) {
      say(
        `  ${name}: ${js.files.length} files${js.lazy.length ? `, loaded on first paint without a preload: ${js.lazy.join(", ")}` : ""}`,
      );
    }
    try {
      const steps = await walkWithoutJavaScript(app, sink);
      for (const step of steps) say(`  ${step}`);
      return { login, bare, withoutJs: { steps, error: null } };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      say(`  without JavaScript: ${message}`);
      return { login, bare, withoutJs: { steps: [], error: message } };
    }
  } finally {
    await app.stop();
  }
}

// ---------------------------------------------------------------------------------------
// The rounds: every load target alone, in rotating order

interface RoundsResult {
  runs: Record<string, Measured[]>;
  /** Bytes of the bare page and of the starter's signed-out `/`. */
  pageBytes: { bare: number; starter: number };
  /** Where the visible markup of the two pages differs; null when it is the same. */
  pageDifference: string | null;
  /** Why the Redis targets did not run, when they did not. */
  redisSkipped: string | null;
}

async function measureRounds(plan: Plan, secrets: string, sink: SmtpSink): Promise<RoundsResult> {
  let redis: RedisServer | undefined;
  let redisSkipped: string | null = null;
  try {
    findRedisServer();
  } catch (error) {
    redisSkipped = error instanceof Error ? error.message : String(error);
  }
  say(
    `· rounds: starting the bare app (react-router-serve), three starters on SQLite (its default store: one for starter ÷ bare, one for the pages, one for the sign-ins), one with STORE=memory` +
      `${redisSkipped ? "" : " and one on Redis (a redis-server of its own)"}`,
  );
  if (redisSkipped) say(`  Redis targets skipped: ${redisSkipped}`);
  const servers: Server[] = [];
  try {
    const bare = await startBare();
    servers.push(bare);
    // The starter's side of starter ÷ bare on a server of its own that serves only that page,
    // as the bare app does: a server that also answered the other page targets between two
    // of its runs kept its code and data warmer than the bare app (README, "One run").
    const anchor = await startStarter("starter-anchor", secrets, smtp(sink));
    servers.push(anchor);
    const sqlite = await startStarter("starter-sqlite", secrets, smtp(sink));
    servers.push(sqlite);
    // The sign-in targets (GET and POST /login, code verification) on a server of their
    // own: each of their runs adds thousands of sign-ins, users and sessions to its file, and
    // their expiry sweeps, checkpoints and deliveries would land in whichever page run
    // happened to be going on. The page targets read a file that stays the same size.
    const signIns = await startStarter("starter-sign-ins", secrets, smtp(sink));
    servers.push(signIns);
    // The same signed in ÷ out with STORE=memory, without a target: what the session itself
    // costs (cookie, seal, checks, user record) when a store lookup is a Map's, so that the
    // SQLite pair shows how much of its difference is the store.
    const inMemory = await startStarter("starter-memory", secrets, {
      ...smtp(sink),
      STORE: "memory",
    });
    servers.push(inMemory);
    let onRedis: Server | undefined;
    if (!redisSkipped) {
      redis = await startRedisServer();
      onRedis = await startStarter("starter-redis", secrets, {
        ...smtp(sink),
        REDIS_URL: redis.url,
      });
      servers.push(onRedis);
    }

    const bareHtml = await (await fetch(`${bare.origin}/`)).text();
    const starterHtml = await (await fetch(`${anchor.origin}/`)).text();
    const pageDifference = firstDifference(bareHtml, starterHtml);
    say(
      `  the same page: bare / ${bareHtml.length} B, starter / ${starterHtml.length} B; visible markup ` +
        (pageDifference
          ? `DIFFERS ${pageDifference}`
          : "identical (scripts, nonces, asset hashes aside)"),
    );

    /**
     * GETs with every connection always waiting; with `rate`, at that steady rate instead;
     * `amount` requests a run (by default the plan's for the kind of run).
     */
    const get =
      (
        server: Server,
        path: string,
        how: { cookie?: () => string; rate?: number; amount?: number } = {},
      ) =>
      () =>
        load({
          url: `${server.origin}${path}`,
          connections: plan.connections,
          amount: how.amount ?? (how.rate ? plan.steadyAmount : plan.amount),
          rate: how.rate,
          headers: how.cookie ? { Cookie: how.cookie() } : undefined,
          expectStatus: 200,
        });
    /** A fresh session before each run, so no request in it needs the once-a-minute roll. */
    const session = (server: Server, label: string) => {
      let cookie = "";
      let serial = 0;
      return {
        cookie: () => cookie,
        prepare: async () => {
          cookie = await signIn(server, sink, `${label}-${serial++}@example.com`);
        },
      };
    };
    const sqliteSession = session(sqlite, "reader-sqlite");
    const memorySession = session(inMemory, "reader-memory");
    const dashboardSession = session(sqlite, "reader-dashboard");
    /** `/` signed out and signed in on one server: the two sides of a ratio, one group. */
    const outAndIn = (
      prefix: string,
      group: string,
      reader: ReturnType<typeof session>,
      on: Pick<Target, "server" | "helpers">,
    ): Target[] => [
      { id: `${prefix}-out`, ...on, group, run: get(on.server, "/"), warm: true },
      {
        id: `${prefix}-in`,
        ...on,
        group,
        prepare: reader.prepare,
        run: get(on.server, "/", { cookie: reader.cookie }),
        warm: true,
      },
    ];

    let loginRun = 0;
    let verifyRun = 0;
    let prepared: PendingSignIn[] = [];
    // `rate` set: the latency run, at a steady rate (plan.pacedRate) over the same connections.
    const loginPost = (id: string, rate?: number): Target => ({
      id,
      server: signIns,
      run: () =>
        load({
          url: `${signIns.origin}/login`,
          connections: plan.connections,
          amount: rate ? plan.pacedAmount : plan.amount,
          rate,
          method: "POST",
          expectStatus: 303,
          setup: distinctLogins(signIns, `start${++loginRun}`),
        }),
      // Until every email is out: the delivery is part of what a start costs.
      settle: async (run) => {
        await waitForDeliveries(sink, `start${loginRun}-`, run.requests);
        takeMessages(sink, `start${loginRun}-`);
      },
    });
    const verify = (id: string, rate?: number): Target => ({
      id,
      server: signIns,
      // Its own fresh sign-ins, started and mailed before the measurement.
      prepare: async () => {
        prepared = await prepareSignIns(
          signIns,
          sink,
          `verify${++verifyRun}`,
          // autocannon (the throughput runs) builds one request more than it sends on each
          // connection; the paced runs build exactly as many as they send.
          rate ? plan.pacedAmount : plan.amount + plan.connections + 10,
        );
      },
      run: () =>
        postCodes(signIns, prepared, {
          connections: plan.connections,
          amount: rate ? plan.pacedAmount : plan.amount,
          rate,
        }),
    });
    const targets: Target[] = [
      // starter ÷ bare: one server each, the same page, back to back (Target.group).
      { id: "bare", server: bare, group: "anchor", run: get(bare, "/"), warm: true },
      {
        id: "anchor",
        server: anchor,
        group: "anchor",
        run: get(anchor, "/"),
        warm: true,
      },
      // The page group: signed in ÷ out and /healthz ÷ / both divide by sqlite-out.
      ...outAndIn("sqlite", "pages", sqliteSession, { server: sqlite }),
      ...outAndIn("memory", "memory", memorySession, { server: inMemory }),
      // The same two at a steady rate well below saturation: each request handled on its
      // own, so the CPU per request is not shaped by how answers bunch up (README).
      {
        id: "sqlite-out-steady",
        server: sqlite,
        group: "sqlite-steady",
        run: get(sqlite, "/", { rate: plan.steadyRate }),
      },
      {
        id: "sqlite-in-steady",
        server: sqlite,
        group: "sqlite-steady",
        prepare: sqliteSession.prepare,
        run: get(sqlite, "/", { cookie: sqliteSession.cookie, rate: plan.steadyRate }),
      },
      {
        id: "dashboard",
        server: sqlite,
        prepare: dashboardSession.prepare,
        run: get(sqlite, "/dashboard", { cookie: dashboardSession.cookie }),
        warm: true,
      },
      {
        id: "login-get",
        server: signIns,
        group: "login",
        run: get(signIns, "/login"),
        warm: true,
      },
      { ...loginPost("login-post"), group: "login" },
      loginPost("login-post-paced", plan.pacedRate),
      verify("verify"),
      verify("verify-paced", plan.pacedRate),
      {
        id: "healthz",
        server: sqlite,
        group: "pages",
        run: get(sqlite, "/healthz", { amount: plan.healthzAmount }),
      },
    ];
    if (onRedis) {
      const redisSession = session(onRedis, "reader-redis");
      // Its redis-server works for it during a run: not counted as crosstalk.
      const viaRedis = { server: onRedis, helpers: redis?.pid === undefined ? [] : [redis.pid] };
      targets.splice(
        4,
        0,
        ...outAndIn("redis", "redis", redisSession, viaRedis),
        {
          id: "redis-out-steady",
          ...viaRedis,
          group: "redis-steady",
          run: get(onRedis, "/", { rate: plan.steadyRate }),
        },
        {
          id: "redis-in-steady",
          ...viaRedis,
          group: "redis-steady",
          prepare: redisSession.prepare,
          run: get(onRedis, "/", { cookie: redisSession.cookie, rate: plan.steadyRate }),
        },
      );
    }

    // BENCH_TARGETS=bare,anchor keeps only those (development).
    const wanted = process.env.BENCH_TARGETS?.split(",").map((id) => id.trim());
    if (wanted) targets.splice(0, targets.length, ...targets.filter((t) => wanted.includes(t.id)));

    // A session must read back before its figures mean anything.
    await sqliteSession.prepare();
    const check = await fetch(`${sqlite.origin}/dashboard`, {
      headers: { Cookie: sqliteSession.cookie() },
      redirect: "manual",
    });
    await check.arrayBuffer();
    if (check.status !== 200) throw new Error(`GET /dashboard with a session: ${check.status}`);

    say(`· rounds: ${targets.map((t) => t.id).join(", ")}`);
    // Every process of the phase: each run waits until they are all idle (bench/lib/quiet.ts).
    const machine = watchMachine({
      processes: () => [
        ...servers.map(({ name, pid }) => ({ name, pid })),
        ...(redis?.pid === undefined ? [] : [{ name: "redis-server", pid: redis.pid }]),
      ],
    });
    // Each GET target's own requests first, back to back, until its server has settled.
    await warmUp(
      targets,
      plan.warmUpSlices,
      (id, perRequest) =>
        say(
          `  warm-up ${id}: ${perRequest.map((ms) => ms.toFixed(2)).join(" ")} ms per request, ` +
            `${plan.warmUpSlices} × ${plan.amount} requests`,
        ),
      machine,
    );
    const runs = await runRounds(
      targets,
      plan.rounds,
      (round, measured) => {
        const cells = [...measured]
          .map(
            ([id, m]) =>
              `${id} ${m.rps.toFixed(0)}/s ${m.cpuMsPerRequest.toFixed(2)}ms` +
              (m.othersCpuMs
                ? ` (others: ${Object.entries(m.others ?? {})
                    .map(([name, ms]) => `${name} ${ms.toFixed(0)}ms`)
                    .join(", ")})`
                : "") +
              (m.waitedMs !== undefined && m.waitedMs > 2_000
                ? ` (waited ${(m.waitedMs / 1000).toFixed(1)}s)`
                : ""),
          )
          .join(" · ");
        say(
          `  ${round <= 0 ? "warm-up" : `round ${round}`} (load ${loadavg()[0]?.toFixed(2)}): ${cells}`,
        );
      },
      plan.warmUpRounds,
      machine,
    );
    return {
      runs: Object.fromEntries(runs),
      pageBytes: { bare: bareHtml.length, starter: starterHtml.length },
      pageDifference,
      redisSkipped,
    };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await redis?.stop();
  }
}

// ---------------------------------------------------------------------------------------
// Memory: 100,000 sign-in starts with a short LOGIN_TTL, then after everything has expired

/** One reading of the memory server, taken right after a full garbage collection. */
interface MemoryReading {
  /** Resident set size from /proc, bytes. */
  rss: number;
  heapUsed: number;
  /** Entries in the store, when it can count them (the in-memory store). */
  storeEntries: number | null;
}

interface MemoryResult {
  start: MemoryReading;
  afterStarts: MemoryReading;
  afterTtl: MemoryReading;
  starts: number;
  startsPerSecond: number;
  /** Seconds from the end of the starts to the last reading. */
  waitedSeconds: number;
  /** What the memory server ran with, beyond the other starters' settings. */
  env: Record<string, string>;
}

const PROBE = new URL("./lib/memory-probe.mjs", import.meta.url).href;

/** How often the stores sweep expired entries (both 30 s, not configurable). */
const STORE_SWEEP_SECONDS = 30;

/**
 * Everything a start leaves behind must be able to expire within the run: the record and its
 * token index live LOGIN_TTL + LOGIN_GRACE in the store and go at its next sweep; the
 * per-address send counters live for their window.
 */
const memorySettleSeconds = (plan: Plan) =>
  plan.memoryLoginTtl +
  plan.memoryLoginGrace +
  plan.memoryRateLimitWindow +
  STORE_SWEEP_SECONDS +
  plan.memoryMarginSeconds;

/** A phase of its own: nothing else runs while the starts go in or while they expire. */
async function measureMemory(plan: Plan, secrets: string): Promise<MemoryResult> {
  const probeFile = join(RESULTS, "memory-probe.jsonl");
  writeFileSync(probeFile, "");
  const env = {
    LOGIN_TTL: String(plan.memoryLoginTtl),
    LOGIN_GRACE: String(plan.memoryLoginGrace),
    RATE_LIMIT_WINDOW: String(plan.memoryRateLimitWindow),
  };
  say(
    `· memory: a starter on the default store with ${Object.entries(env)
      .map(([name, value]) => `${name}=${value}`)
      .join(", ")}, mail to the outbox ` +
      `(records go at their expiry, per-address counters after ${plan.memoryRateLimitWindow} s, for this run only)`,
  );
  const app = await startStarter(
    "starter-memory",
    secrets,
    {
      MAIL_TRANSPORT: "outbox",
      ALLOW_OUTBOX_IN_PRODUCTION: "1",
      ...env,
      BENCH_MEMORY_PROBE: probeFile,
    },
    { nodeArgs: ["--expose-gc", "--import", PROBE] },
  );
  let readings = 0;
  /** Ask the probe for a full GC and its figures, then read the RSS from /proc. */
  const read = async (): Promise<MemoryReading> => {
    process.kill(app.pid, "SIGUSR2");
    const deadline = Date.now() + 10_000;
    let lines: string[] = [];
    while (Date.now() < deadline) {
      lines = readFileSync(probeFile, "utf8").trim().split("\n").filter(Boolean);
      if (lines.length > readings) break;
      await sleep(50);
    }
    if (lines.length <= readings) throw new Error("the memory probe did not answer");
    readings = lines.length;
    const probe = JSON.parse(lines.at(-1) as string) as {
      heapUsed: number;
      storeEntries: number | null;
    };
    return { rss: app.rss(), heapUsed: probe.heapUsed, storeEntries: probe.storeEntries };
  };
  const starts = (amount: number, prefix: string) =>
    load({
      url: `${app.origin}/login`,
      connections: plan.connections,
      amount,
      method: "POST",
      expectStatus: 303,
      setup: distinctLogins(app, prefix),
    });
  try {
    const warm = await starts(plan.memoryWarmStarts, "memwarm");
    await load({
      url: `${app.origin}/`,
      connections: plan.connections,
      amount: 2000,
      expectStatus: 200,
    });
    await sleep((plan.memoryLoginTtl + 1) * 1000);
    const start = await read();
    say(
      `  ${plan.memoryStarts.toLocaleString("en")} sign-in starts (at start: heap ${mb(start.heapUsed)}, RSS ${mb(start.rss)}` +
        `${entries(start)}, the ${plan.memoryWarmStarts} warm-up starts' counters still live)`,
    );
    const run = await starts(plan.memoryStarts, "mem");
    const startsEnded = Date.now();
    const afterStarts = await read();
    say(
      `  after the starts (${run.rps.toFixed(0)}/s): heap ${mb(afterStarts.heapUsed)}, RSS ${mb(afterStarts.rss)}` +
        `${entries(afterStarts)}; the last reading comes ${memorySettleSeconds(plan)} s after the last start ` +
        `(TTL ${plan.memoryLoginTtl} + grace ${plan.memoryLoginGrace} + window ${plan.memoryRateLimitWindow} + ` +
        `sweep ${STORE_SWEEP_SECONDS} + ${plan.memoryMarginSeconds} s), with nothing else running`,
    );
    const remaining = startsEnded + memorySettleSeconds(plan) * 1000 - Date.now();
    if (remaining > 0) await sleep(remaining);
    const waitedSeconds = (Date.now() - startsEnded) / 1000;
    const afterTtl = await read();
    say(
      `  after ${waitedSeconds.toFixed(0)} s: heap ${mb(afterTtl.heapUsed)}, RSS ${mb(afterTtl.rss)}${entries(afterTtl)}`,
    );
    assertNoneThrottled(join(RESULTS, "starter-memory.log"), [warm, run]);
    return {
      start,
      afterStarts,
      afterTtl,
      starts: run.requests,
      startsPerSecond: run.rps,
      waitedSeconds,
      env,
    };
  } finally {
    await app.stop();
  }
}

const entries = (reading: MemoryReading) =>
  reading.storeEntries === null ? "" : `, ${reading.storeEntries} store entries`;

/**
 * A throttled start answers the same 303 as a sent one (S13), so the status cannot tell
 * them apart; the server's auth log can. No measured start may have been throttled.
 */
function assertNoneThrottled(log: string, runs: LoadResult[]): void {
  const text = readFileSync(log, "utf8");
  const throttled = text.split('"outcome":"throttled').length - 1;
  if (throttled > 0) {
    const measured = runs.reduce((sum, run) => sum + run.requests, 0);
    throw new Error(`the server throttled ${throttled} of ${measured} starts; see ${log}`);
  }
}

// ---------------------------------------------------------------------------------------
// Cold start: `npm start` to the first 200

interface ColdStartResult {
  /** ms from spawning `npm start` to the first 200 of `/`, each time. */
  ms: Summary;
}

async function measureColdStart(
  plan: Plan,
  secrets: string,
  sink: SmtpSink,
): Promise<ColdStartResult> {
  say(
    `· cold start: \`npm start\` (the built starter, a new data folder) to the first 200 of /, ${plan.coldStarts} times`,
  );
  const times: number[] = [];
  for (let i = 0; i < plan.coldStarts; i++) {
    const port = await freePort();
    const env = starterEnv(secrets, {
      ...smtp(sink),
      PORT: String(port),
      HOST: "127.0.0.1",
      APP_ORIGIN: `http://127.0.0.1:${port}`,
      DATA_DIR: dataDir("starter-cold"),
    });
    const began = performance.now();
    // Its own process group, so that npm, its shell and the server all stop together.
    const child = spawn("npm", ["start"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
      stdio: "ignore",
      detached: true,
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      for (;;) {
        if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode})`);
        if (performance.now() - began > 60_000) throw new Error("no 200 from npm start in 60 s");
        try {
          const response = await fetch(`http://127.0.0.1:${port}/`);
          await response.arrayBuffer();
          if (response.status === 200) break;
        } catch {
          // Not listening yet.
        }
        await sleep(10);
      }
      times.push(performance.now() - began);
      say(`  ${i + 1}: ${times.at(-1)?.toFixed(0)} ms`);
    } finally {
      if (child.pid) process.kill(-child.pid, "SIGTERM");
      await Promise.race([exited, sleep(10_000)]);
    }
  }
  return { ms: summarise(times) };
}

// ---------------------------------------------------------------------------------------
// Report

type Row = RelayFaultRow;

interface Previous {
  date: string;
  ratios: Record<string, number>;
}

function readPrevious(): Previous | null {
  const file = join(RESULTS, "latest.json");
  if (!existsSync(file)) return null;
  try {
    const json = JSON.parse(readFileSync(file, "utf8")) as Partial<Previous> & {
      plan?: { quick?: boolean };
    };
    return json.ratios && json.date && !json.plan?.quick
      ? { date: json.date, ratios: json.ratios }
      : null;
  } catch {
    return null;
  }
}

function buildReport(plan: Plan, figures: Partial<Figures>, previous: Previous | null) {
  const rows: Row[] = [];
  const ratios: Record<string, number> = {};
  const fixed = (s: Summary, digits: number) => ({
    median: s.median.toFixed(digits),
    range: `${s.min.toFixed(digits)}–${s.max.toFixed(digits)}`,
  });
  const throughputRow = (figure: string, runs: Measured[] | undefined, target = "") => {
    if (!runs?.length) return;
    const rps = summarise(runs.map((r) => r.rps));
    const cpu = summarise(runs.map((r) => r.cpuMsPerRequest));
    rows.push({
      figure,
      ...fixed(rps, 0),
      cpu: `${cpu.median.toFixed(3)} (${cpu.min.toFixed(3)}–${cpu.max.toFixed(3)})`,
      target,
    });
  };
  /** a ÷ b within each round, on `value`; the median and range of those. */
  const ratioRow = (
    key: string,
    figure: string,
    a: Measured[] | undefined,
    b: Measured[] | undefined,
    value: (m: Measured) => number,
    judge?: { text: string; met: (median: number) => boolean },
  ) => {
    if (!a?.length || !b?.length) return;
    const s = summarise(a.map((run, i) => value(run) / value(b[i] as Measured)));
    ratios[key] = s.median;
    rows.push({
      figure,
      ...fixed(s, 3),
      cpu: "",
      target: judge?.text ?? "",
      ...(judge ? { met: judge.met(s.median) } : {}),
    });
  };
  const rps = (m: Measured) => m.rps;
  const cpu = (m: Measured) => m.cpuMsPerRequest;

  const runs = figures.rounds?.runs;
  if (figures.rounds && runs) {
    const { pageDifference } = figures.rounds;
    throughputRow("Bare React Router, / (same page), req/s", runs.bare, "anchor");
    throughputRow("Starter, / signed out, a server serving only it (SQLite), req/s", runs.anchor);
    ratioRow("starterOverBare", "  starter ÷ bare, throughput", runs.anchor, runs.bare, rps, {
      text: `≥ ${TARGETS.starterOverBare}${pageDifference ? " (pages differ!)" : ""}`,
      met: (m) => m >= TARGETS.starterOverBare && !pageDifference,
    });
    ratioRow(
      "starterOverBareCpu",
      "  starter ÷ bare, CPU per request",
      runs.anchor,
      runs.bare,
      cpu,
      {
        text: `≤ ${TARGETS.starterOverBareCpu}`,
        met: (m) => m <= TARGETS.starterOverBareCpu && !pageDifference,
      },
    );
    throughputRow("Starter, / signed out (SQLite), req/s", runs["sqlite-out"]);
    throughputRow("Starter, / signed in (SQLite), req/s", runs["sqlite-in"]);
    ratioRow(
      "sqliteInOverOut",
      "  signed in ÷ out, SQLite, throughput",
      runs["sqlite-in"],
      runs["sqlite-out"],
      rps,
      {
        text: `≥ ${TARGETS.signedInOverOut}`,
        met: (m) => m >= TARGETS.signedInOverOut,
      },
    );
    ratioRow(
      "sqliteInOverOutCpu",
      "  signed out ÷ in, SQLite, CPU per request",
      runs["sqlite-out"],
      runs["sqlite-in"],
      cpu,
    );
    ratioRow(
      "sqliteInOverOutSteadyCpu",
      `  signed out ÷ in, SQLite, CPU per request at ${plan.steadyRate} req/s (no target)`,
      runs["sqlite-out-steady"],
      runs["sqlite-in-steady"],
      cpu,
    );
    if (runs["memory-in"]) {
      throughputRow("Starter, / signed out (STORE=memory), req/s", runs["memory-out"]);
      throughputRow("Starter, / signed in (STORE=memory), req/s", runs["memory-in"]);
      ratioRow(
        "memoryStoreInOverOut",
        "  signed in ÷ out, memory store (no target: the session without a store's cost)",
        runs["memory-in"],
        runs["memory-out"],
        rps,
      );
      ratioRow(
        "memoryStoreInOverOutCpu",
        "  signed out ÷ in, memory store, CPU per request (no target)",
        runs["memory-out"],
        runs["memory-in"],
        cpu,
      );
    }
    if (runs["redis-in"]) {
      throughputRow("Starter, / signed out (Redis), req/s", runs["redis-out"]);
      throughputRow("Starter, / signed in (Redis), req/s", runs["redis-in"]);
      ratioRow(
        "redisInOverOut",
        "  signed in ÷ out, Redis, throughput",
        runs["redis-in"],
        runs["redis-out"],
        rps,
        {
          text: `≥ ${TARGETS.signedInOverOut}`,
          met: (m) => m >= TARGETS.signedInOverOut,
        },
      );
      ratioRow(
        "redisInOverOutCpu",
        "  signed out ÷ in, Redis, CPU per request",
        runs["redis-out"],
        runs["redis-in"],
        cpu,
      );
      ratioRow(
        "redisInOverOutSteadyCpu",
        `  signed out ÷ in, Redis, CPU per request at ${plan.steadyRate} req/s (no target)`,
        runs["redis-out-steady"],
        runs["redis-in-steady"],
        cpu,
      );
    } else {
      rows.push({
        figure: "Starter on Redis",
        median: "skipped",
        range: figures.rounds.redisSkipped ?? "",
        cpu: "",
        target: `≥ ${TARGETS.signedInOverOut}`,
        met: false,
      });
    }
    throughputRow("Starter, /dashboard signed in (SQLite), req/s", runs.dashboard);
    throughputRow("GET /login, req/s", runs["login-get"]);
    throughputRow(`POST /login (distinct addresses, mail delivered), req/s`, runs["login-post"]);
    const p = (key: string, figure: string, limit?: number) => {
      const list = runs[key];
      if (!list?.length) return;
      const p50 = summarise(list.map((r) => r.p50));
      const p99 = summarise(list.map((r) => r.p99));
      rows.push({ figure: `  ${figure} p50, ms`, ...fixed(p50, 0), cpu: "", target: "" });
      rows.push({
        figure: `  ${figure} p99, ms`,
        ...fixed(p99, 0),
        cpu: "",
        target: limit === undefined ? "" : `≤ ${limit}`,
        ...(limit === undefined ? {} : { met: p99.median <= limit }),
      });
    };
    p(
      "login-post",
      `POST /login, ${plan.connections} always waiting (no target: connections ÷ throughput)`,
    );
    p(
      "login-post-paced",
      `POST /login, ${plan.connections} connections at ${plan.pacedRate} req/s`,
      TARGETS.loginP99Ms,
    );
    ratioRow(
      "loginPostOverGetCpu",
      "  POST ÷ GET /login, CPU per request",
      runs["login-post"],
      runs["login-get"],
      cpu,
      {
        text: `≤ ${TARGETS.loginCpuOverGet}`,
        met: (m) => m <= TARGETS.loginCpuOverGet,
      },
    );
    throughputRow("Code verification (fresh sign-in each), req/s", runs.verify);
    p("verify", `code verification, ${plan.connections} always waiting (no target)`);
    p(
      "verify-paced",
      `code verification, ${plan.connections} connections at ${plan.pacedRate} req/s`,
      TARGETS.verifyP99Ms,
    );
    throughputRow("GET /healthz, req/s", runs.healthz);
    ratioRow(
      "healthzOverPageCpu",
      "  /healthz ÷ / signed out, CPU per request",
      runs.healthz,
      runs["sqlite-out"],
      cpu,
      {
        text: `≤ ${TARGETS.healthzCpuOverPage}`,
        met: (m) => m <= TARGETS.healthzCpuOverPage,
      },
    );
  }

  if (figures.relay) rows.push(...relayFaultRows(figures.relay, TARGETS.loginRelayFaultP99Ms));

  const { js } = figures;
  if (js) {
    const extraKb = (js.login.gzipBytes - js.bare.gzipBytes) / 1024;
    rows.push({
      figure: "Client JS of /login, gzip, KB",
      median: kb(js.login.gzipBytes),
      range: `${js.login.files.length} files${js.login.lazy.length ? `, ${js.login.lazy.length} lazy on first paint` : ""}`,
      cpu: "",
      target: "",
    });
    rows.push({
      figure: "Client JS of the bare page, gzip, KB",
      median: kb(js.bare.gzipBytes),
      range: `${js.bare.files.length} files${js.bare.lazy.length ? `, ${js.bare.lazy.length} lazy on first paint` : ""}`,
      cpu: "",
      target: "",
    });
    rows.push({
      figure: "  /login − bare, gzip, KB",
      median: `+${extraKb.toFixed(1)}`,
      range: "",
      cpu: "",
      target: `≤ +${TARGETS.loginJsExtraKb}`,
      met: extraKb <= TARGETS.loginJsExtraKb,
    });
    rows.push({
      figure: "Sign-in with JavaScript off (link and code, plain forms)",
      median: js.withoutJs.error ? "fails" : "works",
      range: js.withoutJs.error ?? `${js.withoutJs.steps.length} steps`,
      cpu: "",
      target: "works",
      met: js.withoutJs.error === null,
    });
  }

  const { memory } = figures;
  if (memory) {
    // Judged on the heap after a full GC: RSS follows V8 giving pages back on its own schedule.
    const growth = memory.afterTtl.heapUsed / memory.start.heapUsed - 1;
    const rssGrowth = memory.afterTtl.rss / memory.start.rss - 1;
    ratios.memoryHeapGrowth = growth;
    rows.push({
      figure: "Heap at start (after a full GC), MB",
      median: mbNumber(memory.start.heapUsed),
      range: rssNote(memory.start),
      cpu: "",
      target: "",
    });
    rows.push({
      figure: `Heap after ${memory.starts.toLocaleString("en")} sign-in starts, MB`,
      median: mbNumber(memory.afterStarts.heapUsed),
      range: rssNote(memory.afterStarts),
      cpu: "",
      target: "",
    });
    rows.push({
      figure: `Heap ${memory.waitedSeconds.toFixed(0)} s after the last start, MB`,
      median: `${mbNumber(memory.afterTtl.heapUsed)} (${percent(growth)})`,
      range: `${rssNote(memory.afterTtl)} (${percent(rssGrowth)})`,
      cpu: "",
      target: `≤ start + ${TARGETS.memoryWithin * 100}%`,
      met: growth <= TARGETS.memoryWithin,
    });
  }

  if (figures.cold) {
    rows.push({
      figure: "Cold start, `npm start` to the first 200, ms",
      ...fixed(figures.cold.ms, 0),
      cpu: "",
      target: "reported",
    });
  }
  for (const m of figures.micro ?? []) {
    rows.push({
      figure: `Micro: ${m.name}, µs/op`,
      median: m.medianUs.toFixed(1),
      range: `p99 ${m.p99Us.toFixed(0)}`,
      cpu: "",
      target: "",
    });
  }

  const targeted = rows.filter((row) => row.met !== undefined);
  const missed = targeted.filter((row) => !row.met).map((row) => row.figure.trim());
  const met = Object.fromEntries(targeted.map((row) => [row.figure.trim(), row.met as boolean]));
  const summary =
    `Targets: ${targeted.length - missed.length} of ${targeted.length} met` +
    (missed.length ? `; not met: ${missed.join("; ")}.` : ".") +
    (plan.quick ? " (BENCH_QUICK: indicative only.)" : "");
  let drift: string | null = null;
  if (previous && !plan.quick) {
    const changes = Object.entries(ratios)
      .filter(([key]) => typeof previous.ratios[key] === "number" && key !== "memoryHeapGrowth")
      .map(([key, value]) => `${key} ${percent(value / (previous.ratios[key] as number) - 1)}`);
    if (changes.length)
      drift = `Ratios against the previous full run (${previous.date}): ${changes.join(", ")}.`;
  }
  return { table: renderTable(rows), summary, drift, ratios, met };
}

function renderTable(rows: Row[]): string {
  const header = ["Figure", "Median", "Min–max / detail", "CPU ms/req (min–max)", "Target", ""];
  const cells = (row: Row) => [
    row.figure,
    row.median,
    row.range,
    row.cpu,
    row.target,
    row.met === undefined ? "" : row.met ? "met" : "NOT MET",
  ];
  const all = [header, ...rows.map(cells)];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] as string).length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] as number)).join(" | ")} |`;
  const rule = `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`;
  return [line(header), rule, ...rows.map((row) => line(cells(row)))].join("\n");
}

const rssNote = (reading: MemoryReading) =>
  `RSS ${mbNumber(reading.rss)}${reading.storeEntries === null ? "" : `, ${reading.storeEntries} entries`}`;
const percent = (fraction: number) => `${fraction >= 0 ? "+" : ""}${(fraction * 100).toFixed(1)}%`;
const kb = (bytes: number) => (bytes / 1024).toFixed(1);
const mbNumber = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
const mb = (bytes: number) => `${mbNumber(bytes)} MB`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function cpuModel(): string {
  try {
    return (
      /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ??
      cpus()[0]?.model ??
      "unknown CPU"
    );
  } catch {
    return cpus()[0]?.model ?? "unknown CPU";
  }
}

function packageVersion(name: string): string {
  return (
    JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as {
      version: string;
    }
  ).version;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
