/**
 * Two production instances behind one origin, sharing one Redis (issue 6): what a load
 * balancer in front of `npm start` twice looks like. Each request goes straight to one
 * instance's port with the browser headers the balancer would pass on (Origin =
 * APP_ORIGIN, X-Forwarded-For), so a test chooses which instance serves each step.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  productionBuild,
  startProductionServer,
  type ProductionServer,
} from "../support/production-app";
import { Browser as ProductionBrowser } from "../support/production-browser";
import { startRedisServer, type RedisServer } from "../support/redis-server";
import { startSmtpSink, type SmtpSink } from "../support/smtp-sink";

const APP_ORIGIN = "https://app.example.test";
const PREFIX = "multi:";
const SESSION = "__Host-session";

let redis: RedisServer;
let raw: Redis;
let smtp: SmtpSink;
let a: ProductionServer;
let b: ProductionServer;

beforeAll(async () => {
  const [build, redisServer, sink] = await Promise.all([
    productionBuild(),
    startRedisServer(),
    startSmtpSink(),
  ]);
  redis = redisServer;
  smtp = sink;
  raw = new Redis(redis.url);
  const env = {
    APP_ORIGIN,
    SESSION_SECRETS: "multi-instance-test-secret-0123456789abcdef",
    MAIL_TRANSPORT: "smtp",
    SMTP_URL: smtp.url,
    MAIL_FROM: "Sign in <login@app.example.test>",
    REDIS_URL: redis.url,
    REDIS_PREFIX: PREFIX,
    // Behind the balancer: one trusted hop. The per-IP budget is raised so that the lockout
    // test's 100 failures are refused by the lockout, not by the IP budget.
    TRUST_PROXY: "1",
    RATE_LIMIT_IP_PER_HOUR: "100000",
  };
  [a, b] = await Promise.all([
    startProductionServer(build, env),
    startProductionServer(build, env),
  ]);
  // One line in the test output, to watch the cost of this file (the build is reused while
  // the sources are unchanged).
  console.info(`[multi-instance] build ${build.built ? "made" : "reused"} in ${build.ms} ms`);
}, 150_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  raw?.disconnect();
  await Promise.all([redis?.stop(), smtp?.close()]);
});

/** A browser behind the balancer (APP_ORIGIN as its Origin), from one client address. */
class Browser extends ProductionBrowser {
  constructor(ip?: string) {
    super(APP_ORIGIN, ip);
  }
}

const emailsTo = (address: string) => smtp.messages.filter((m) => m.to === address);

/** POST /login on `server` (the 303 to the check page). */
async function askForEmail(browser: Browser, server: ProductionServer, email: string) {
  const response = await browser.post(server, "/login", { email, returnTo: "/dashboard" });
  expect(response.status).toBe(303);
  expect(response.headers.get("Location")).toBe("/login/check");
}

/** POST /login on `server`, then the email it queued, once the queue has delivered it. */
async function requestSignIn(browser: Browser, server: ProductionServer, email: string) {
  const before = emailsTo(email).length;
  await askForEmail(browser, server, email);
  return smtp.waitForNthEmailTo(email, before + 1);
}

/** Whether `server` shows the dashboard to this browser (else it sends it to sign in). */
async function dashboardShows(
  browser: Browser,
  server: ProductionServer,
  email: string,
): Promise<boolean> {
  const response = await browser.get(server, "/dashboard");
  if (response.status === 200) {
    expect(await response.text()).toContain(email);
    return true;
  }
  expect(response.status).toBe(302);
  expect(response.headers.get("Location")).toBe("/login?returnTo=%2Fdashboard");
  return false;
}

const setsSession = (response: Response) =>
  response.headers
    .getSetCookie()
    .some((c) => c.startsWith(`${SESSION}=`) && !c.startsWith(`${SESSION}=;`));

describe("two production instances sharing one Redis", () => {
  it("both are up and healthy on the same store", async () => {
    for (const server of [a, b]) {
      const response = await fetch(`${server.url}/healthz`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: "ok", store: "ok", mail: "ok" });
    }
    expect(a.port).not.toBe(b.port);
  });

  it("a link requested on A is redeemed on B, and the session works on both", async () => {
    const browser = new Browser();
    const email = await requestSignIn(browser, a, "link@example.com");
    expect(email?.link).toMatch(`${APP_ORIGIN}/auth/link?token=`);

    const landing = await browser.get(
      b,
      new URL(email?.link as string).pathname + new URL(email?.link as string).search,
    );
    expect(landing.status).toBe(200);
    expect(setsSession(landing)).toBe(false);
    const confirmed = await browser.post(b, "/auth/link", { token: email?.token as string });
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.get("Location")).toBe("/dashboard");
    expect(setsSession(confirmed)).toBe(true);

    expect(await dashboardShows(browser, a, "link@example.com")).toBe(true);
    expect(await dashboardShows(browser, b, "link@example.com")).toBe(true);
  });

  it("a code requested on B is redeemed on A", async () => {
    const browser = new Browser();
    const email = await requestSignIn(browser, b, "code@example.com");
    const done = await browser.post(a, "/login/check", { code: email?.code as string });
    expect(done.status).toBe(303);
    expect(setsSession(done)).toBe(true);
    expect(await dashboardShows(browser, b, "code@example.com")).toBe(true);
  });

  it("S3 of 20 concurrent redemptions of one code, split across A and B, exactly one gets a session", async () => {
    const browser = new Browser();
    const email = await requestSignIn(browser, a, "race@example.com");
    const cookie = browser.jar.header();
    const attempt = (i: number) =>
      fetch(`${(i % 2 === 0 ? a : b).url}/login/check`, {
        method: "POST",
        headers: {
          Cookie: cookie,
          Origin: APP_ORIGIN,
          "Content-Type": "application/x-www-form-urlencoded",
          "X-Forwarded-For": browser.ip,
        },
        body: new URLSearchParams({ code: email?.code as string }).toString(),
        redirect: "manual",
      });
    // On a busy machine an instance can be kept from reading Redis's reply past its command
    // timeout and answer 503 ("try again"), as it should. That attempt is made again, as a
    // person would, so the tally is of final answers: still exactly one session in all.
    const settled = async (i: number) => {
      for (let tries = 1; ; tries++) {
        const response = await attempt(i);
        if (response.status !== 503 || tries === 5) return response;
        await response.arrayBuffer();
      }
    };
    const attempts = await Promise.all(Array.from({ length: 20 }, (_, i) => settled(i)));
    const winners = attempts.filter(setsSession);
    expect(winners).toHaveLength(1);
    expect(winners[0]?.status).toBe(303);
    const losers = attempts.filter((r) => !setsSession(r));
    // Each loser hears "already used" (400) or, past the fifth try of this code, "too many
    // tries" (429): tries are counted before the compare (S10), so which one depends on timing.
    expect(losers).toHaveLength(19);
    for (const loser of losers) expect([400, 429]).toContain(loser.status);
    await Promise.all(attempts.map((r) => r.arrayBuffer()));
  });

  it("S11 a send throttled on A holds on B: the second request for one address sends nothing", async () => {
    const first = new Browser("198.51.100.1");
    const second = new Browser("198.51.100.2");
    await requestSignIn(first, a, "throttle@example.com");
    expect(emailsTo("throttle@example.com")).toHaveLength(1);
    // Same answer on B (S13), but no email: the spacing counter lives in the shared Redis.
    await askForEmail(second, b, "throttle@example.com");
    // B does send to an address that has no throttle; by the time that email has come, one
    // queued by the throttled request before it would have come too.
    await requestSignIn(second, b, "unthrottled@example.com");
    expect(emailsTo("unthrottled@example.com")).toHaveLength(1);
    expect(emailsTo("throttle@example.com")).toHaveLength(1);
  });

  it("S10 a lockout reached on A holds on B, and it is the lockout that refuses", async () => {
    const browser = new Browser("192.0.2.50");
    const email = await requestSignIn(browser, a, "locked@example.com");
    // 100 consecutive failures (the default lockout) on A, with made-up link tokens: each
    // is a failed verify for this address that leaves the emailed code itself untouched.
    for (let batch = 0; batch < 10; batch++) {
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          browser
            .copy()
            .post(a, "/auth/link", { token: `made-up-token-${batch}-${i}-${"x".repeat(30)}` }),
        ),
      );
      expect(responses.map((r) => r.status)).toEqual(Array(10).fill(400));
    }
    const refused = await browser.post(b, "/login/check", { code: email?.code as string });
    expect(refused.status).toBe(429);
    expect(setsSession(refused)).toBe(false);

    // Control: lift the lockout in Redis and the same code, on the same instance, signs in.
    const lockKeys = await raw.keys(`${PREFIX}rl:verify:failures*`);
    expect(lockKeys.length).toBeGreaterThan(0);
    await raw.del(...lockKeys);
    const accepted = await browser.post(b, "/login/check", { code: email?.code as string });
    expect(accepted.status).toBe(303);
    expect(setsSession(accepted)).toBe(true);
  });

  it("S22 sign out everywhere on A makes B refuse the old cookie (and a copy of it)", async () => {
    const browser = new Browser();
    const email = await requestSignIn(browser, b, "everywhere@example.com");
    expect((await browser.post(b, "/login/check", { code: email?.code as string })).status).toBe(
      303,
    );
    const copied = browser.copy();
    expect(await dashboardShows(copied, b, "everywhere@example.com")).toBe(true);

    const out = await browser.post(a, "/logout", { scope: "all" });
    expect(out.status).toBe(303);
    expect(await dashboardShows(copied, b, "everywhere@example.com")).toBe(false);
    expect(await dashboardShows(copied, a, "everywhere@example.com")).toBe(false);
  });

  it("S22 a session revoked from the sessions page on A is refused on B", async () => {
    const phone = new Browser("198.51.100.77");
    const email = await requestSignIn(phone, a, "revoke@example.com");
    expect((await phone.post(a, "/login/check", { code: email?.code as string })).status).toBe(303);
    const page = await phone.get(b, "/account/sessions");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("(this browser)");
    expect(html).toContain("198.51.100.0/24");
    const handle = /name="sessionId" value="([0-9a-f]{32})"/.exec(html)?.[1];
    expect(handle).toBeDefined();
    const stolen = phone.copy();
    const revoked = await phone.post(a, "/account/sessions", {
      intent: "revoke",
      sessionId: handle as string,
    });
    expect(revoked.status).toBe(303);
    expect(await dashboardShows(stolen, b, "revoke@example.com")).toBe(false);
  });
});
