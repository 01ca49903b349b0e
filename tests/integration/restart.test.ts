/**
 * S31: state survives a restart on the default store. Production servers (the real build,
 * `npm start`) on their defaults — no REDIS_URL, no STORE — run one after another on one
 * DATA_DIR, stopped by SIGTERM (every deploy) or `kill -9` (a crash). Whatever was signed
 * out, used or counted before stays so after; a pending sign-in still signs in.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Browser } from "../support/production-browser";
import {
  productionBuild,
  startProductionServer,
  type ProductionBuild,
  type ProductionServer,
} from "../support/production-app";
import { startSmtpSink, type SmtpSink } from "../support/smtp-sink";

const APP_ORIGIN = "https://app.example.test";
const SESSION = "__Host-session";

let build: ProductionBuild;
let smtp: SmtpSink;
let dataDir: string;
let server: ProductionServer | undefined;

const env = (extra: Record<string, string> = {}) => ({
  APP_ORIGIN,
  SESSION_SECRETS: "restart-test-secret-0123456789abcdef0123",
  MAIL_TRANSPORT: "smtp",
  SMTP_URL: smtp.url,
  MAIL_FROM: "Sign in <login@app.example.test>",
  DATA_DIR: dataDir,
  // Behind one trusted proxy; the per-IP budget is raised so that the lockout's 100
  // failures are refused by the lockout, not by the IP budget.
  TRUST_PROXY: "1",
  RATE_LIMIT_IP_PER_HOUR: "100000",
  // Two browsers of one person sign in one after the other.
  RATE_LIMIT_EMAIL_SPACING: "0",
  ...extra,
});

beforeAll(async () => {
  [build, smtp] = await Promise.all([productionBuild(), startSmtpSink()]);
  dataDir = mkdtempSync(path.join(tmpdir(), "pls-restart-"));
  console.info(`[restart] build ${build.built ? "made" : "reused"} in ${build.ms} ms`);
}, 150_000);

afterAll(async () => {
  await server?.stop();
  await smtp?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Stop the running server with `signal` and start a new one on the same DATA_DIR. */
async function restart(signal: "SIGTERM" | "SIGKILL", extra?: Record<string, string>) {
  const exit = await server?.signal(signal);
  if (signal === "SIGTERM") expect(exit, server?.output()).toMatchObject({ code: 0 });
  else expect(exit).toMatchObject({ signal: "SIGKILL" });
  server = await startProductionServer(build, env(extra));
}

/** POST /login, then the email it queued, once the delivery worker has sent it. */
async function requestSignIn(browser: Browser, email: string) {
  const before = smtp.messages.filter((m) => m.to === email).length;
  const response = await browser.post(server!, "/login", { email, returnTo: "/dashboard" });
  expect(response.status).toBe(303);
  const message = await smtp.waitForNthEmailTo(email, before + 1);
  expect(message.code).toMatch(/^\d{6}$/);
  return message;
}

async function signIn(browser: Browser, email: string): Promise<void> {
  const message = await requestSignIn(browser, email);
  const done = await browser.post(server!, "/login/check", { code: message.code as string });
  expect(done.status).toBe(303);
  expect(await dashboardShows(browser)).toBe(true);
}

/** Whether the server shows this browser the dashboard (else it sends it to sign in). */
async function dashboardShows(browser: Browser): Promise<boolean> {
  const response = await browser.get(server!, "/dashboard");
  await response.arrayBuffer();
  if (response.status === 200) return true;
  expect(response.status).toBe(302);
  return false;
}

const setsSession = (response: Response) =>
  response.headers
    .getSetCookie()
    .some((c) => c.startsWith(`${SESSION}=`) && !c.startsWith(`${SESSION}=;`));

describe("S31 the default store across restarts (SIGTERM, then kill -9)", () => {
  // The state each step leaves for the next, across the restarts.
  const signedOut = new Browser(APP_ORIGIN, "198.51.100.1");
  const everywhere = new Browser(APP_ORIGIN, "198.51.100.2");
  let otherDevice: Browser;
  const pending = new Browser(APP_ORIGIN, "198.51.100.3");
  let pendingCode = "";
  const locked = new Browser(APP_ORIGIN, "198.51.100.4");
  let lockedCode = "";
  const linkUser = new Browser(APP_ORIGIN, "198.51.100.5");
  let usedToken = "";
  const untouched = new Browser(APP_ORIGIN, "198.51.100.9");

  it("before: sign out, sign out everywhere, a pending code, a lockout, a used link", async () => {
    server = await startProductionServer(build, env());
    const health = await fetch(`${server.url}/healthz`);
    expect(await health.json()).toMatchObject({ status: "ok", store: "ok" });

    await signIn(signedOut, "out@example.com");
    const copy = signedOut.copy(); // what a thief would keep
    expect((await signedOut.post(server, "/logout", {})).status).toBe(303);
    expect(await dashboardShows(copy)).toBe(false);
    signedOut.jar.set(SESSION, copy.jar.get(SESSION) as string);

    await signIn(everywhere, "all@example.com");
    otherDevice = new Browser(APP_ORIGIN, "198.51.100.6");
    await signIn(otherDevice, "all@example.com");
    expect((await everywhere.post(server, "/logout", { scope: "all" })).status).toBe(303);
    expect(await dashboardShows(otherDevice)).toBe(false);

    pendingCode = (await requestSignIn(pending, "pending@example.com")).code as string;

    lockedCode = (await requestSignIn(locked, "locked@example.com")).code as string;
    // 100 consecutive failures (the default lockout), with made-up link tokens: each is a
    // failed verify for this address that leaves the emailed code itself untouched.
    for (let batch = 0; batch < 10; batch++) {
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          locked.copy().post(server!, "/auth/link", {
            token: `made-up-token-${batch}-${i}-${"x".repeat(30)}`,
          }),
        ),
      );
      expect(responses.map((r) => r.status)).toEqual(Array(10).fill(400));
    }
    expect((await locked.copy().post(server, "/login/check", { code: lockedCode })).status).toBe(
      429,
    );

    const link = await requestSignIn(linkUser, "link@example.com");
    usedToken = link.token as string;
    expect((await linkUser.post(server, "/auth/link", { token: usedToken })).status).toBe(303);

    await signIn(untouched, "untouched@example.com");
  }, 60_000);

  it("after SIGTERM: refused stays refused, the pending code signs in, the lockout holds, the link stays used", async () => {
    await restart("SIGTERM");
    expect(await dashboardShows(signedOut)).toBe(false);
    expect(await dashboardShows(otherDevice)).toBe(false);

    const done = await pending.post(server!, "/login/check", { code: pendingCode });
    expect(done.status).toBe(303);
    expect(setsSession(done)).toBe(true);
    expect(await dashboardShows(pending)).toBe(true);

    const refused = await locked.post(server!, "/login/check", { code: lockedCode });
    expect(refused.status).toBe(429);
    expect(setsSession(refused)).toBe(false);

    const again = await new Browser(APP_ORIGIN, "198.51.100.5").post(server!, "/auth/link", {
      token: usedToken,
    });
    expect(setsSession(again)).toBe(false);
    expect(again.status).toBeGreaterThanOrEqual(400);
  }, 60_000);

  // The control for the refusals above: a session from before the same restart that nobody
  // signed out is still signed in (its user lives in the same database, migration 0003).
  it("control: a session nobody signed out survives the restart", async () => {
    expect(await dashboardShows(untouched)).toBe(true);
  }, 60_000);

  it("kill -9 in the middle of writes: the database opens, is consistent, and still refuses", async () => {
    const late = new Browser(APP_ORIGIN, "198.51.100.7");
    const lateCode = (await requestSignIn(late, "late@example.com")).code as string;
    // Sign-ins started by many clients at once (each one several writes), killed mid-way.
    const load = Array.from({ length: 60 }, (_, i) =>
      new Browser(APP_ORIGIN, `192.0.2.${i + 1}`)
        .post(server!, "/login", { email: `load-${i}@example.com` })
        .then((r) => r.status)
        .catch(() => "cut"),
    );
    await new Promise((resolve) => setTimeout(resolve, 30));
    await restart("SIGKILL");
    const statuses = await Promise.all(load);
    expect(statuses).toContain("cut"); // the kill really landed while requests were running

    const health = await fetch(`${server!.url}/healthz`);
    expect(health.status).toBe(200);
    const db = new DatabaseSync(path.join(dataDir, "app.db"), { readOnly: true });
    try {
      expect(db.prepare("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    } finally {
      db.close();
    }
    expect(await dashboardShows(signedOut)).toBe(false);
    expect(await dashboardShows(otherDevice)).toBe(false);
    expect(await dashboardShows(pending)).toBe(true); // the control, after the kill
    expect((await locked.post(server!, "/login/check", { code: lockedCode })).status).toBe(429);
    // A code asked for before the kill still signs in after it.
    const done = await late.post(server!, "/login/check", { code: lateCode });
    expect(done.status).toBe(303);
  }, 60_000);
});

describe("STORE=memory: nothing survives, and the person is told the truth", () => {
  it("warns at start; after a restart a pending code and link say 'expired', not 'didn't match'", async () => {
    await server?.stop();
    server = await startProductionServer(build, env({ STORE: "memory" }));
    expect(server.output()).toMatch(/STORE=memory in production: .* lost at every restart/);
    const browser = new Browser(APP_ORIGIN, "198.51.100.8");
    const message = await requestSignIn(browser, "memory@example.com");
    await restart("SIGTERM", { STORE: "memory" });

    for (const [path, fields] of [
      ["/login/check", { code: message.code as string }],
      ["/auth/link", { token: message.token as string }],
    ] as const) {
      const response = await browser.copy().post(server!, path, fields);
      const html = await response.text();
      expect(html, path).toContain("This sign-in has expired");
      expect(html, path).not.toContain("didn't match");
      expect(html, path).toMatch(/Send a new|send a new/);
    }
  }, 60_000);
});
