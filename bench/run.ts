/**
 * `npm run bench`: what the starter's sign-in costs over React Router itself.
 *
 * Builds the starter and a bare React Router app of the same version (bench/bare), serves
 * both with react-router-serve on 127.0.0.1, drives them with autocannon, and prints one
 * table (median of several runs, with min–max) with each figure's target, a one-line
 * summary, and bench/results/latest.json. Every comparison is a ratio taken in the same
 * run, with the runs interleaved, because these small machines are noisy.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type autocannon from "autocannon";
import { startSmtpSink, type SmtpSink } from "../tests/support/smtp-sink";
import { clientJsFor, type ClientJs } from "./lib/client-js";
import { load, type LoadResult } from "./lib/load";
import { build, freePort, startServer, type Server } from "./lib/servers";
import { summarise, type Summary } from "./lib/stats";
import { runMicroBenchmarks, type MicroResult } from "./micro";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BARE = join(ROOT, "bench", "bare");
const RESULTS = join(ROOT, "bench", "results");

/** The whole plan; sized so that a 2-core machine finishes in well under 5 minutes. */
const PLAN = {
  runs: 3,
  /** Rounds of bare, public and protected driven at once. */
  pageRounds: 5,
  pageSeconds: 4,
  connections: 50,
  warmupSeconds: 2,
  loginSeconds: 4,
  /** Code verifications per run (each its own fresh sign-in). */
  verifyAmount: 1500,
  memoryStarts: 100_000,
  /** Warm-up starts of the memory server (few: their counters are still live at the first reading). */
  memoryWarmStarts: 500,
  /** LOGIN_TTL of the memory server, in seconds. */
  memoryLoginTtl: 5,
  /** LOGIN_GRACE of the memory server: records go at their expiry. */
  memoryLoginGrace: 0,
  /** RATE_LIMIT_WINDOW of the memory server: the shortest the configuration allows. */
  memoryRateLimitWindow: 60,
  /** The memory store's sweep interval (30 s, not configurable). */
  memorySweepSeconds: 30,
  /** Added to TTL + grace + window + sweep before the last reading. */
  memoryMarginSeconds: 5,
  microTimeMs: 1000,
};

/** Raised for the run, and said so in the output: every request comes from 127.0.0.1. */
const RATE_LIMIT_IP_PER_HOUR = "1000000000";

const TARGETS = {
  publicOverBare: 0.95,
  protectedOverPublic: 0.9,
  loginJsExtraKb: 15,
  loginP99Ms: 50,
  memoryWithin: 0.1,
};

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const started = Date.now();
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
    `npm run bench — ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, React Router ${machine.reactRouter}, ` +
      `load average ${machine.loadAverageAtStart.join(", ")}`,
  );
  say(
    `Starter: AUTH_ADAPTER=local, NODE_ENV=production, RATE_LIMIT_IP_PER_HOUR raised to ${RATE_LIMIT_IP_PER_HOUR} for this run ` +
      `(every request comes from 127.0.0.1); per-address limits stay on and do not bite: every sign-in uses its own address.`,
  );

  say("· building the starter and the bare app (react-router build)");
  await build(ROOT, join(RESULTS, "build-starter.log"));
  await build(BARE, join(RESULTS, "build-bare.log"));
  const loginJs = clientJsFor(join(ROOT, "build", "client"), ["root", "routes/login"]);
  const bareJs = clientJsFor(join(BARE, "build", "client"), ["root", "routes/home"]);

  const secrets = randomBytes(36).toString("base64url");
  // The memory run goes first; while its records and counters expire, the other figures are
  // taken beside it (it only waits then), which keeps the whole bench under 5 minutes.
  const memoryRun = await startMemoryRun(secrets);
  const sink = await startSmtpSink();
  const pages = await measurePages(secrets, sink);
  const verify = await measureVerify(secrets, sink);
  await sink.close();
  const login = await measureLogin(secrets);
  say("· micro-benchmarks (tinybench, in this process)");
  const micro = await runMicroBenchmarks(PLAN.microTimeMs);
  const memory = await finishMemoryRun(memoryRun);

  const report = buildReport({
    machine,
    pages,
    verify,
    login,
    memory,
    loginJs,
    bareJs,
    micro,
    seconds: (Date.now() - started) / 1000,
  });
  say("");
  say(report.table);
  say("");
  say(report.summary);
  writeFileSync(join(RESULTS, "latest.json"), `${JSON.stringify(report.json, null, 2)}\n`);
  say(`Figures written to bench/results/latest.json (${report.json.seconds.toFixed(0)} s in all).`);
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

/** Start the starter; APP_ORIGIN must match the port, so the port is chosen first. */
async function startStarter(
  name: string,
  secrets: string,
  extra: Record<string, string>,
): Promise<Server> {
  const port = await freePort();
  return startServer({
    name,
    cwd: ROOT,
    env: starterEnv(secrets, {
      PORT: String(port),
      APP_ORIGIN: `http://127.0.0.1:${port}`,
      ...extra,
    }),
    log: join(RESULTS, `${name}.log`),
    readyPath: "/healthz",
  });
}

const outbox = { MAIL_TRANSPORT: "outbox", ALLOW_OUTBOX_IN_PRODUCTION: "1" };
const smtp = (sink: SmtpSink) => ({
  MAIL_TRANSPORT: "smtp",
  SMTP_URL: sink.url,
  MAIL_FROM: "Bench <bench@example.com>",
});

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const formHeaders = (server: Server, cookie?: string): Record<string, string> => ({
  "Content-Type": "application/x-www-form-urlencoded",
  // The origin check (S25) wants the configured origin on every POST.
  Origin: server.origin,
  ...(cookie ? { Cookie: cookie } : {}),
});

function cookiePair(setCookie: string | string[] | null | undefined, name: string): string {
  const all = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  const found = all.find((cookie) => cookie.startsWith(`${name}=`));
  if (!found) throw new Error(`no ${name} cookie in ${JSON.stringify(all)}`);
  return found.split(";")[0] as string;
}

/** One whole sign-in through the real server and the SMTP sink: the session cookie. */
async function signIn(server: Server, sink: SmtpSink, email: string): Promise<string> {
  const start = await fetch(`${server.origin}/login`, {
    method: "POST",
    headers: formHeaders(server),
    body: form({ email, returnTo: "/dashboard" }),
    redirect: "manual",
  });
  await start.arrayBuffer();
  if (start.status !== 303) throw new Error(`POST /login answered ${start.status}`);
  const pending = cookiePair(start.headers.getSetCookie(), "pending");
  const { code } = await sink.waitForEmailTo(email);
  if (!code) throw new Error(`no code in the email to ${email}`);
  const check = await fetch(`${server.origin}/login/check`, {
    method: "POST",
    headers: formHeaders(server, pending),
    body: form({ code }),
    redirect: "manual",
  });
  await check.arrayBuffer();
  if (check.status !== 303) throw new Error(`POST /login/check answered ${check.status}`);
  return cookiePair(check.headers.getSetCookie(), "session");
}

// ---------------------------------------------------------------------------------------
// Pages: bare, public, protected, interleaved round by round

interface PagesResult {
  bare: LoadResult[];
  public: LoadResult[];
  protected: LoadResult[];
  bareBytes: number;
  publicBytes: number;
}

/**
 * Three servers driven side by side, each with its own autocannon connections: the bare
 * app's page, the starter's public page (one process) and its protected page (a second
 * process of the same build). Driven at once, they share whatever else the machine is doing,
 * and each single-threaded server gets about the same share of the CPU, so the ratio of
 * their throughputs is the ratio of their costs per request even on a busy machine, where
 * runs taken one after another swing by a factor of two or more.
 */
async function measurePages(secrets: string, sink: SmtpSink): Promise<PagesResult> {
  say("· pages: starting the bare app and two starter processes (public, protected)");
  const bare = await startServer({
    name: "bare",
    cwd: BARE,
    env: { NODE_ENV: "production" },
    log: join(RESULTS, "bare.log"),
    readyPath: "/",
  });
  const open = await startStarter("starter-public", secrets, smtp(sink));
  const closed = await startStarter("starter-protected", secrets, smtp(sink));
  try {
    const bareBytes = (await (await fetch(`${bare.origin}/`)).arrayBuffer()).byteLength;
    const publicBytes = (await (await fetch(`${open.origin}/`)).arrayBuffer()).byteLength;
    let session = await signIn(closed, sink, "reader-0@example.com");
    const dashboard = await fetch(`${closed.origin}/dashboard`, {
      headers: { Cookie: session },
      redirect: "manual",
    });
    await dashboard.arrayBuffer();
    if (dashboard.status !== 200)
      throw new Error(`GET /dashboard with a fresh session answered ${dashboard.status}`);

    const page = (server: Server, path: string, seconds: number, cookie?: string) =>
      load({
        url: `${server.origin}${path}`,
        connections: PLAN.connections,
        duration: seconds,
        headers: cookie ? { Cookie: cookie } : undefined,
        expectStatus: 200,
      });
    const together = (seconds: number, cookie: string) =>
      Promise.all([
        page(bare, "/", seconds),
        page(open, "/", seconds),
        page(closed, "/dashboard", seconds, cookie),
      ]);
    say(
      `· pages: warm-up ${PLAN.warmupSeconds} s, then ${PLAN.pageRounds} rounds of ${PLAN.pageSeconds} s, all three at once`,
    );
    await together(PLAN.warmupSeconds, session);

    const result: PagesResult = { bare: [], public: [], protected: [], bareBytes, publicBytes };
    for (let round = 1; round <= PLAN.pageRounds; round++) {
      // A fresh session each round, so no request in the run needs the once-a-minute roll.
      session = await signIn(closed, sink, `reader-${round}@example.com`);
      const [b, p, q] = await together(PLAN.pageSeconds, session);
      result.bare.push(b);
      result.public.push(p);
      result.protected.push(q);
      say(
        `  round ${round}: bare ${rps(result.bare)} · public ${rps(result.public)} · protected ${rps(result.protected)} req/s`,
      );
    }
    return result;
  } finally {
    await Promise.all([bare.stop(), open.stop(), closed.stop()]);
  }
}

const rps = (runs: LoadResult[]) => (runs.at(-1)?.rps ?? 0).toFixed(0);

// ---------------------------------------------------------------------------------------
// Code verification: every request its own fresh sign-in

interface PendingSignIn {
  cookie: string;
  code: string;
}

/** Start `count` sign-ins with distinct addresses; their pending cookies and mailed codes. */
async function prepareSignIns(
  server: Server,
  sink: SmtpSink,
  prefix: string,
  count: number,
): Promise<PendingSignIn[]> {
  const cookies = new Map<string, string>();
  let next = 0;
  await load({
    url: `${server.origin}/login`,
    connections: 16,
    amount: count,
    method: "POST",
    expectStatus: 303,
    setup(request, context) {
      const email = `${prefix}-${next++}@example.com`;
      // One request in flight per connection, so the response belongs to this address.
      context.email = email;
      return {
        ...request,
        headers: formHeaders(server),
        body: form({ email, returnTo: "/dashboard" }),
      };
    },
    onResponse(_status, _body, context, headers) {
      cookies.set(
        context.email as string,
        cookiePair(headers["set-cookie"] ?? headers["Set-Cookie"], "pending"),
      );
    },
  });
  const codes = new Map(sink.messages.map((message) => [message.to, message.code]));
  const ready: PendingSignIn[] = [];
  for (const [email, cookie] of cookies) {
    const code = codes.get(email);
    if (code) ready.push({ cookie, code });
  }
  if (ready.length < count)
    throw new Error(`only ${ready.length} of ${count} sign-ins came back with a code`);
  return ready;
}

async function measureVerify(secrets: string, sink: SmtpSink): Promise<LoadResult[]> {
  const app = await startStarter("starter-verify", secrets, smtp(sink));
  try {
    const warmup = 300;
    // autocannon builds one request more than it sends on each connection.
    const perRun = PLAN.verifyAmount + PLAN.connections + 10;
    const total = warmup + PLAN.connections + 10 + perRun * PLAN.runs;
    say(`· code verification: starting ${total} sign-ins through SMTP to collect their codes`);
    const prepared = await prepareSignIns(app, sink, "verify", total);
    let next = 0;
    const run = (amount: number) =>
      load({
        url: `${app.origin}/login/check`,
        connections: PLAN.connections,
        amount,
        method: "POST",
        expectStatus: 303,
        setup(request) {
          const signIn = prepared[next++];
          if (!signIn) throw new Error("ran out of prepared sign-ins");
          return {
            ...request,
            headers: formHeaders(app, signIn.cookie),
            body: form({ code: signIn.code }),
          };
        },
      });
    await run(warmup);
    const runs: LoadResult[] = [];
    for (let i = 0; i < PLAN.runs; i++) {
      runs.push(await run(PLAN.verifyAmount));
      say(`  run ${i + 1}: ${rps(runs)} req/s, p99 ${runs.at(-1)?.p99} ms`);
    }
    return runs;
  } finally {
    await app.stop();
  }
}

// ---------------------------------------------------------------------------------------
// Sign-in start: POST /login with distinct addresses

/** A request generator: each POST /login its own address, as an abuser's list would be. */
function distinctLogins(server: Server, prefix: string) {
  let next = 0;
  return (request: autocannon.Request): autocannon.Request => ({
    ...request,
    headers: formHeaders(server),
    body: form({ email: `${prefix}-${next++}@example.com`, returnTo: "/dashboard" }),
  });
}

async function measureLogin(secrets: string): Promise<LoadResult[]> {
  const app = await startStarter("starter-login", secrets, outbox);
  try {
    say(
      `· POST /login: warm-up ${PLAN.warmupSeconds} s, then ${PLAN.runs} runs of ${PLAN.loginSeconds} s at ${PLAN.connections} connections`,
    );
    const run = (seconds: number, prefix: string) =>
      load({
        url: `${app.origin}/login`,
        connections: PLAN.connections,
        duration: seconds,
        method: "POST",
        expectStatus: 303,
        setup: distinctLogins(app, prefix),
      });
    await run(PLAN.warmupSeconds, "warm");
    const runs: LoadResult[] = [];
    for (let i = 0; i < PLAN.runs; i++) {
      runs.push(await run(PLAN.loginSeconds, `run${i}`));
      say(
        `  run ${i + 1}: ${rps(runs)} req/s, p50 ${runs.at(-1)?.p50} ms, p99 ${runs.at(-1)?.p99} ms`,
      );
    }
    assertAllSent(join(RESULTS, "starter-login.log"), runs);
    return runs;
  } finally {
    await app.stop();
  }
}

/**
 * A throttled start answers the same 303 as a sent one (S13), so the status cannot tell
 * them apart; the server's auth log can. Every measured start must have been sent.
 */
function assertAllSent(log: string, runs: LoadResult[]): { sent: number; throttled: number } {
  const text = readFileSync(log, "utf8");
  const sent = count(text, '"step":"start","outcome":"sent"');
  const throttled = count(text, '"outcome":"throttled');
  const measured = runs.reduce((sum, run) => sum + run.requests, 0);
  if (throttled > 0 || sent < measured) {
    throw new Error(
      `the server throttled ${throttled} starts (sent ${sent} of at least ${measured}); see ${log}`,
    );
  }
  return { sent, throttled };
}

function count(text: string, needle: string): number {
  let n = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) n++;
  return n;
}

// ---------------------------------------------------------------------------------------
// Memory: 100,000 sign-in starts with a short LOGIN_TTL, then after everything has expired

/** One reading of the memory server, taken right after a full garbage collection. */
interface MemoryReading {
  /** Resident set size from /proc, bytes. */
  rss: number;
  heapUsed: number;
  /** Entries in the in-memory store (sign-in records, token indexes, revocations). */
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

interface MemoryRun {
  app: Server;
  read: () => Promise<MemoryReading>;
  warm: LoadResult;
  starts: LoadResult;
  start: MemoryReading;
  afterStarts: MemoryReading;
  /** When the starts ended (epoch ms). */
  startsEnded: number;
  env: Record<string, string>;
}

const PROBE = new URL("./lib/memory-probe.mjs", import.meta.url).href;

/**
 * Everything a start leaves behind must be able to expire within the run: the record and its
 * token index live LOGIN_TTL + LOGIN_GRACE in the store and go at its next 30 s sweep; the
 * per-address send counters (rate-limiter-flexible's memory backend) live for their window
 * and are deleted by a timer of their own at its end.
 */
const memorySettleSeconds = () =>
  PLAN.memoryLoginTtl +
  PLAN.memoryLoginGrace +
  PLAN.memoryRateLimitWindow +
  PLAN.memorySweepSeconds +
  PLAN.memoryMarginSeconds;

/** Start the memory server, take the starting reading, run the 100,000 starts. */
async function startMemoryRun(secrets: string): Promise<MemoryRun> {
  const probeFile = join(RESULTS, "memory-probe.jsonl");
  writeFileSync(probeFile, "");
  const port = await freePort();
  const env = {
    LOGIN_TTL: String(PLAN.memoryLoginTtl),
    LOGIN_GRACE: String(PLAN.memoryLoginGrace),
    RATE_LIMIT_WINDOW: String(PLAN.memoryRateLimitWindow),
  };
  say(
    `· memory: a starter with ${Object.entries(env)
      .map(([name, value]) => `${name}=${value}`)
      .join(", ")} ` +
      `(records go at their expiry, per-address counters after ${PLAN.memoryRateLimitWindow} s, for this run only)`,
  );
  const app = await startServer({
    name: "starter-memory",
    cwd: ROOT,
    env: starterEnv(secrets, {
      ...outbox,
      PORT: String(port),
      APP_ORIGIN: `http://127.0.0.1:${port}`,
      ...env,
      BENCH_MEMORY_PROBE: probeFile,
    }),
    log: join(RESULTS, "starter-memory.log"),
    readyPath: "/healthz",
    nodeArgs: ["--expose-gc", "--import", PROBE],
  });
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
  try {
    const warm = await load({
      url: `${app.origin}/login`,
      connections: PLAN.connections,
      amount: PLAN.memoryWarmStarts,
      method: "POST",
      expectStatus: 303,
      setup: distinctLogins(app, "memwarm"),
    });
    await load({
      url: `${app.origin}/`,
      connections: PLAN.connections,
      amount: 2000,
      expectStatus: 200,
    });
    await sleep((PLAN.memoryLoginTtl + 1) * 1000);
    const start = await read();
    say(
      `  ${PLAN.memoryStarts.toLocaleString("en")} sign-in starts (at start: heap ${mb(start.heapUsed)}, RSS ${mb(start.rss)}, ` +
        `${start.storeEntries} store entries, the ${PLAN.memoryWarmStarts} warm-up starts' counters still live)`,
    );
    const starts = await load({
      url: `${app.origin}/login`,
      connections: PLAN.connections,
      amount: PLAN.memoryStarts,
      method: "POST",
      expectStatus: 303,
      setup: distinctLogins(app, "mem"),
    });
    const startsEnded = Date.now();
    const afterStarts = await read();
    say(
      `  after the starts (${starts.rps.toFixed(0)}/s): heap ${mb(afterStarts.heapUsed)}, RSS ${mb(afterStarts.rss)}, ` +
        `${afterStarts.storeEntries} store entries (the earliest have expired already); the last reading comes ` +
        `${memorySettleSeconds()} s after the last start, while the other figures are taken`,
    );
    return { app, read, warm, starts, start, afterStarts, startsEnded, env };
  } catch (error) {
    await app.stop();
    throw error;
  }
}

/** Wait until every record and counter has expired and been swept, then the last reading. */
async function finishMemoryRun(run: MemoryRun): Promise<MemoryResult> {
  const { app } = run;
  try {
    const remaining = run.startsEnded + memorySettleSeconds() * 1000 - Date.now();
    say(
      `· memory: ${Math.max(0, Math.ceil(remaining / 1000))} s more until TTL ${PLAN.memoryLoginTtl} s + grace ` +
        `${PLAN.memoryLoginGrace} s + window ${PLAN.memoryRateLimitWindow} s + sweep ${PLAN.memorySweepSeconds} s ` +
        `+ ${PLAN.memoryMarginSeconds} s have passed since the last start`,
    );
    if (remaining > 0) await sleep(remaining);
    const waitedSeconds = (Date.now() - run.startsEnded) / 1000;
    const afterTtl = await run.read();
    say(
      `  after ${waitedSeconds.toFixed(0)} s: heap ${mb(afterTtl.heapUsed)}, RSS ${mb(afterTtl.rss)}, ${afterTtl.storeEntries} store entries`,
    );
    assertAllSent(join(RESULTS, "starter-memory.log"), [run.warm, run.starts]);
    return {
      start: run.start,
      afterStarts: run.afterStarts,
      afterTtl,
      starts: run.starts.requests,
      startsPerSecond: run.starts.rps,
      waitedSeconds,
      env: run.env,
    };
  } finally {
    await app.stop();
  }
}

// ---------------------------------------------------------------------------------------
// Report

interface ReportInput {
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGb: number;
    node: string;
    reactRouter: string;
    loadAverageAtStart: number[];
  };
  pages: PagesResult;
  verify: LoadResult[];
  login: LoadResult[];
  memory: MemoryResult;
  loginJs: ClientJs;
  bareJs: ClientJs;
  micro: MicroResult[];
  seconds: number;
}

interface Row {
  figure: string;
  median: string;
  range: string;
  target: string;
  met?: boolean;
}

function buildReport(input: ReportInput) {
  const { pages, verify, login, memory, loginJs, bareJs, micro } = input;
  const bare = summarise(pages.bare.map((r) => r.rps));
  const pub = summarise(pages.public.map((r) => r.rps));
  const prot = summarise(pages.protected.map((r) => r.rps));
  // Ratios of runs taken back to back in the same round; the median of those.
  const publicOverBare = summarise(
    pages.public.map((r, i) => r.rps / (pages.bare[i] as LoadResult).rps),
  );
  const protectedOverPublic = summarise(
    pages.protected.map((r, i) => r.rps / (pages.public[i] as LoadResult).rps),
  );
  const loginRps = summarise(login.map((r) => r.rps));
  const loginP50 = summarise(login.map((r) => r.p50));
  const loginP99 = summarise(login.map((r) => r.p99));
  const verifyRps = summarise(verify.map((r) => r.rps));
  const verifyP99 = summarise(verify.map((r) => r.p99));
  const extraKb = (loginJs.gzipBytes - bareJs.gzipBytes) / 1024;
  // Judged on the heap after a full GC: RSS follows V8 giving pages back on its own schedule.
  const memoryGrowth = memory.afterTtl.heapUsed / memory.start.heapUsed - 1;
  const rssGrowth = memory.afterTtl.rss / memory.start.rss - 1;

  const range = (s: Summary, digits = 0) => `${s.min.toFixed(digits)}–${s.max.toFixed(digits)}`;
  const rows: Row[] = [
    {
      figure: "Bare React Router, page (SSR), req/s, side by side",
      median: bare.median.toFixed(0),
      range: range(bare),
      target: "anchor",
    },
    {
      figure: "Starter, public page / (SSR), req/s, side by side",
      median: pub.median.toFixed(0),
      range: range(pub),
      target: "",
    },
    {
      figure: "  public ÷ bare",
      median: publicOverBare.median.toFixed(3),
      range: range(publicOverBare, 3),
      target: `≥ ${TARGETS.publicOverBare}`,
      met: publicOverBare.median >= TARGETS.publicOverBare,
    },
    {
      figure: "Starter, /dashboard (valid session), req/s, side by side",
      median: prot.median.toFixed(0),
      range: range(prot),
      target: "",
    },
    {
      figure: "  protected ÷ public",
      median: protectedOverPublic.median.toFixed(3),
      range: range(protectedOverPublic, 3),
      target: `≥ ${TARGETS.protectedOverPublic}`,
      met: protectedOverPublic.median >= TARGETS.protectedOverPublic,
    },
    {
      figure: `POST /login (distinct addresses, ${PLAN.connections} conn.), req/s`,
      median: loginRps.median.toFixed(0),
      range: range(loginRps),
      target: "",
    },
    {
      figure: "  POST /login p50, ms",
      median: loginP50.median.toFixed(0),
      range: range(loginP50),
      target: "",
    },
    {
      figure: "  POST /login p99, ms",
      median: loginP99.median.toFixed(0),
      range: range(loginP99),
      target: `≤ ${TARGETS.loginP99Ms}`,
      met: loginP99.median <= TARGETS.loginP99Ms,
    },
    {
      figure: `Code verification (fresh code each, ${PLAN.connections} conn.), req/s`,
      median: verifyRps.median.toFixed(0),
      range: range(verifyRps),
      target: "",
    },
    {
      figure: "  code verification p99, ms",
      median: verifyP99.median.toFixed(0),
      range: range(verifyP99),
      target: "",
    },
    {
      figure: "Client JS of /login, gzip, KB",
      median: kb(loginJs.gzipBytes),
      range: `${loginJs.files.length} files`,
      target: "",
    },
    {
      figure: "Client JS of the bare page, gzip, KB",
      median: kb(bareJs.gzipBytes),
      range: `${bareJs.files.length} files`,
      target: "",
    },
    {
      figure: "  /login ÷ bare (extra KB)",
      median: `${(loginJs.gzipBytes / bareJs.gzipBytes).toFixed(3)} (+${extraKb.toFixed(1)})`,
      range: "",
      target: `≤ bare + ${TARGETS.loginJsExtraKb} KB`,
      met: extraKb <= TARGETS.loginJsExtraKb,
    },
    {
      figure: "Heap at start (after a full GC), MB",
      median: mbNumber(memory.start.heapUsed),
      range: rssNote(memory.start),
      target: "",
    },
    {
      figure: `Heap after ${memory.starts.toLocaleString("en")} sign-in starts, MB`,
      median: mbNumber(memory.afterStarts.heapUsed),
      range: rssNote(memory.afterStarts),
      target: "",
    },
    {
      figure: `Heap ${memory.waitedSeconds.toFixed(0)} s after the last start (TTL + window + sweep), MB`,
      median: `${mbNumber(memory.afterTtl.heapUsed)} (${percent(memoryGrowth)})`,
      range: `${rssNote(memory.afterTtl)} (${percent(rssGrowth)})`,
      target: `≤ start + ${TARGETS.memoryWithin * 100}%`,
      met: memoryGrowth <= TARGETS.memoryWithin,
    },
    ...micro.map((m) => ({
      figure: `Micro: ${m.name}, µs/op`,
      median: m.medianUs.toFixed(1),
      range: `p99 ${m.p99Us.toFixed(0)}`,
      target: "",
    })),
  ];
  const table = renderTable(rows);
  const targeted = rows.filter((row) => row.met !== undefined);
  const missed = targeted.filter((row) => !row.met).map((row) => row.figure.trim());
  const summary =
    `Summary: ${targeted.length - missed.length} of ${targeted.length} targets met` +
    `${missed.length ? ` (missed: ${missed.join("; ")})` : ""}; public ÷ bare ${publicOverBare.median.toFixed(2)}, ` +
    `protected ÷ public ${protectedOverPublic.median.toFixed(2)}, POST /login p99 ${loginP99.median.toFixed(0)} ms, ` +
    `/login JS +${extraKb.toFixed(1)} KB gzip, heap after the TTL ${percent(memoryGrowth)} of start (RSS ${percent(rssGrowth)}).`;
  const json = {
    date: new Date().toISOString(),
    seconds: input.seconds,
    machine: input.machine,
    plan: PLAN,
    rateLimitIpPerHour: Number(RATE_LIMIT_IP_PER_HOUR),
    targets: TARGETS,
    figures: {
      bareRps: bare,
      publicRps: pub,
      protectedRps: prot,
      publicOverBare,
      protectedOverPublic,
      loginRps,
      loginP50Ms: loginP50,
      loginP99Ms: loginP99,
      verifyRps,
      verifyP99Ms: verifyP99,
      loginJs,
      bareJs,
      loginJsExtraGzipBytes: loginJs.gzipBytes - bareJs.gzipBytes,
      memory,
      micro,
      pageBytes: { bare: pages.bareBytes, public: pages.publicBytes },
    },
    met: Object.fromEntries(targeted.map((row) => [row.figure.trim(), row.met])),
    runs: { pages, login, verify },
  };
  return { table, summary, json };
}

function renderTable(rows: Row[]): string {
  const header: Row = {
    figure: "Figure",
    median: "Median",
    range: "Min–max / detail",
    target: "Target",
    met: undefined,
  };
  const cells = (row: Row) => [
    row.figure,
    row.median,
    row.range,
    row.target,
    row.met === undefined ? "" : row.met ? "met" : "NOT MET",
  ];
  const all = [header, ...rows].map(cells);
  const widths = all[0]?.map((_, i) => Math.max(...all.map((r) => (r[i] as string).length))) ?? [];
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] as number)).join(" | ")} |`;
  const rule = `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`;
  return [line(cells(header)), rule, ...rows.map((row) => line(cells(row)))].join("\n");
}

const rssNote = (reading: MemoryReading) =>
  `RSS ${mbNumber(reading.rss)}, ${reading.storeEntries ?? "?"} entries`;
const percent = (fraction: number) => `${fraction >= 0 ? "+" : ""}${(fraction * 100).toFixed(0)}%`;
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
