/**
 * F. Requests, dependencies, logs (S25, S27, S28) and the page headers (CSP with a nonce,
 * framing, sniffing, HSTS). S26 has its own file, fuzz.test.ts.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { isCrossSite } from "../../app/auth/middleware.server";
import { parseConfig } from "../../app/config.server";
import { hashEmail, jsonLogger } from "../../app/lib/log.server";
import { Outbox } from "../../app/mail/outbox.server";
import * as callback from "../../app/routes/auth.callback";
import * as link from "../../app/routes/auth.link";
import * as dashboard from "../../app/routes/dashboard";
import * as login from "../../app/routes/login";
import * as check from "../../app/routes/login.check";
import * as logout from "../../app/routes/logout";
import { createServices, setServices } from "../../app/services.server";
import { MemoryStore } from "../../app/store/memory.server";
import {
  callRoute,
  CookieJar,
  createTestApp,
  createTestClock,
  getRequest,
  postForm,
  readEmail,
  TEST_ORIGIN,
  TEST_SECRET,
  type TestApp,
} from "../support/auth";
import { createDocumentHandler } from "./document";
import { requestEmail, sessionCookies, submitCode } from "./helpers";

const ROOT = join(import.meta.dirname, "..", "..");

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe("S25 cross-site POSTs are refused", () => {
  /** The ways a cross-site form post shows itself; each must be refused. */
  const crossSite: Array<[string, Record<string, string>]> = [
    ["Origin: https://evil.test", { Origin: "https://evil.test" }],
    ["Origin: null", { Origin: "null" }],
    ["Origin with another scheme", { Origin: "https://localhost:5173" }],
    ["Origin that only starts like ours", { Origin: "http://localhost:5173.evil.test" }],
    ["Sec-Fetch-Site: cross-site, no Origin", { "Sec-Fetch-Site": "cross-site" }],
    ["Sec-Fetch-Site: same-site, no Origin", { "Sec-Fetch-Site": "same-site" }],
  ];

  it.each(crossSite)(
    "%s to /login, /login/check, /auth/link, /auth/callback and /logout: 403, no mail, no session",
    async (_name, headers) => {
      app = createTestApp();
      const victim = new CookieJar();
      const email = await requestEmail(app, victim, "victim@example.com");
      const signedIn = new CookieJar();
      const other = await requestEmail(app, signedIn, "signed-in@example.com");
      signedIn.store(await submitCode(signedIn, other.code as string));
      const mailBefore = app.outbox.list().length;

      const routes = [
        [login.action, "/login", { email: "target@example.com" }, victim],
        [check.action, "/login/check", { code: email.code as string }, victim],
        [link.action, "/auth/link", { token: email.token as string }, victim],
        [callback.action, "/auth/callback", { code: "abc", state: "def" }, victim],
        [logout.action, "/logout", { scope: "all" }, signedIn],
      ] as const;
      for (const [action, path, fields, jar] of routes) {
        const result = await callRoute(
          action,
          postForm(path, fields, { cookie: jar, origin: null, headers }),
        );
        expect(result.status, path).toBe(403);
        expect(result.headers.getSetCookie(), path).toEqual([]);
      }
      expect(app.outbox.list()).toHaveLength(mailBefore);
      // Nothing was consumed or revoked: the victim's code still works, the session is alive.
      expect(
        (await callRoute(dashboard.loader, getRequest("/dashboard", { cookie: signedIn }))).status,
      ).toBe(200);
      expect((await submitCode(victim, email.code as string)).status).toBe(303);
    },
  );

  it("through the whole request handler too: React Router's own check defers to ours, and ours refuses", async () => {
    app = createTestApp();
    const handle = await createDocumentHandler();
    for (const path of [
      "/login",
      "/login/check",
      "/auth/link",
      "/auth/callback",
      "/logout",
      "/login.data",
    ]) {
      const response = await handle(
        new Request(`${TEST_ORIGIN}${path}`, {
          method: "POST",
          headers: {
            Origin: "https://evil.test",
            "Content-Type": "application/x-www-form-urlencoded",
          },
          body: new URLSearchParams({ email: "target@example.com" }),
        }),
      );
      expect(response.status, path).toBe(403);
      expect(sessionCookies(response)).toEqual([]);
    }
    expect(app.outbox.list()).toHaveLength(0);
  });

  it("same-origin posts pass: our Origin, or Sec-Fetch-Site same-origin / none without one", () => {
    const post = (headers: Record<string, string>) =>
      new Request(`${TEST_ORIGIN}/login`, { method: "POST", headers });
    expect(isCrossSite(post({ Origin: TEST_ORIGIN }), TEST_ORIGIN)).toBe(false);
    expect(isCrossSite(post({ "Sec-Fetch-Site": "same-origin" }), TEST_ORIGIN)).toBe(false);
    expect(isCrossSite(post({ "Sec-Fetch-Site": "none" }), TEST_ORIGIN)).toBe(false);
    // Safe methods are never refused: the link page must open from a mail client.
    expect(
      isCrossSite(
        new Request(`${TEST_ORIGIN}/auth/link`, { headers: { Origin: "https://evil.test" } }),
        TEST_ORIGIN,
      ),
    ).toBe(false);
  });
});

describe("S27 patched dependencies", () => {
  // The audit itself needs the registry; CI runs it before the tests. Here: that CI calls
  // the check, and that the check fails on what it should, from saved reports.
  const check = (report: unknown) => {
    const file = join(mkdtempSync(join(tmpdir(), "audit-")), "report.json");
    writeFileSync(file, JSON.stringify(report));
    return spawnSync(process.execPath, [join(ROOT, ".ci/audit.mjs")], {
      env: { ...process.env, AUDIT_REPORT: file },
      encoding: "utf8",
    });
  };
  const report = (counts: Record<string, number>) => ({
    vulnerabilities: {},
    metadata: {
      vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, ...counts },
    },
  });

  it("CI runs the audit of the production dependencies under set -e", () => {
    const ci = readFileSync(join(ROOT, ".ci/run"), "utf8");
    expect(ci).toMatch(/^set -euo pipefail$/m);
    expect(ci).toMatch(/^node \.ci\/audit\.mjs$/m);
    expect(readFileSync(join(ROOT, ".ci/audit.mjs"), "utf8")).toContain('"--omit=dev"');
  });

  it("fails on a moderate or higher finding, passes on low ones", () => {
    expect(check(report({ moderate: 1 })).status).toBe(1);
    expect(check(report({ critical: 2 })).status).toBe(1);
    expect(check(report({ low: 3, info: 1 })).status).toBe(0);
  });

  it("says so, without failing, when the registry has no audit endpoint", () => {
    const result = check({ statusCode: 405, message: "405 Method Not Allowed" });
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/could not run/);
  });
});

describe("S28 logs record every sign-in attempt and outcome, never a secret", () => {
  it("a full flow through the production JSON logger: one line per attempt with adapter, outcome and hashed email; no token, code, cookie or address", async () => {
    const lines: string[] = [];
    const write = vi
      .spyOn(process.stdout, "write")
      .mockImplementation((chunk: string | Uint8Array) => {
        lines.push(String(chunk));
        return true;
      });
    const clock = createTestClock();
    const outbox = new Outbox({ limit: 50 });
    const config = parseConfig({
      NODE_ENV: "test",
      APP_ORIGIN: TEST_ORIGIN,
      SESSION_SECRETS: TEST_SECRET,
      MAIL_TRANSPORT: "outbox",
    });
    const services = createServices(config, {
      clock,
      store: new MemoryStore({ clock, sweepIntervalMs: 0 }),
      mailer: outbox,
      limits: null,
      log: jsonLogger,
    });
    setServices(services);
    const secrets: string[] = [];
    try {
      const address = "Logged.Person@Example.com";
      const normalised = "logged.person@example.com";
      const jar = new CookieJar();
      jar.store(
        await callRoute(login.action, postForm("/login", { email: address }, { cookie: jar })),
      );
      const email = readEmail(outbox.latestTo(normalised) as never);
      const code = email.code as string;
      const wrongCode = code === "000000" ? "111111" : "000000";
      await callRoute(check.action, postForm("/login/check", { code: wrongCode }, { cookie: jar }));
      const stranger = await callRoute(
        link.action,
        postForm("/auth/link", { token: email.token as string }, { cookie: new CookieJar() }),
      );
      expect(stranger.status).toBe(403);
      const signedIn = await callRoute(
        link.action,
        postForm("/auth/link", { token: email.token as string }, { cookie: jar }),
      );
      expect(signedIn.status).toBe(303);
      jar.store(signedIn);
      const replay = await callRoute(
        check.action,
        postForm("/login/check", { code }, { cookie: jar }),
      );
      expect(replay.status).toBeGreaterThanOrEqual(400);
      await callRoute(logout.action, postForm("/logout", {}, { cookie: jar }));
      secrets.push(
        email.token as string,
        jar.header(),
        ...sessionCookies(signedIn).map((line) => line.split(";")[0]?.split("=")[1] ?? ""),
      );

      const events = lines.filter((line) => line.includes('"type":"auth"'));
      const parsed = events.map((line) => JSON.parse(line) as Record<string, unknown>);
      // One line each: start, wrong code, other browser, link, the new user, (no pending for
      // the replay), logout.
      expect(parsed.map((e) => `${String(e.step)}:${String(e.outcome)}`)).toEqual([
        "start:sent",
        "code:invalid",
        "link:not_same_browser",
        "link:success",
        "user:created",
        "code:no_pending",
        "logout:success",
      ]);
      for (const event of parsed) {
        expect(event.time).toMatch(/^\d{4}-\d\d-\d\dT/);
        expect(event.type).toBe("auth");
        expect(typeof event.outcome).toBe("string");
      }
      for (const event of parsed
        .filter((e) => e.step !== "link" || e.outcome !== "not_same_browser")
        .filter((e) => e.outcome !== "no_pending")) {
        expect(event.adapter).toBe("local");
        expect(event.emailHash).toBe(hashEmail(normalised));
        expect(event.emailHash).toMatch(/^[0-9a-f]{16}$/);
      }
      const all = events.join("\n");
      for (const secret of secrets) {
        expect(secret.length).toBeGreaterThan(10);
        expect(all).not.toContain(secret);
      }
      expect(all).not.toMatch(new RegExp(`(?<![0-9a-f])(${code}|${wrongCode})(?![0-9a-f])`));
      expect(all.toLowerCase()).not.toContain(normalised);
      expect(
        lines.every((line) => line.endsWith("\n") && line.indexOf("\n") === line.length - 1),
      ).toBe(true);
    } finally {
      write.mockRestore();
      setServices(undefined);
      await services.close();
    }
  });

  it("the test app's captured events hold the same: every attempt, no secret", async () => {
    app = createTestApp();
    const jar = new CookieJar();
    const email = await requestEmail(app, jar, "events@example.com");
    await submitCode(jar, email.code as string);
    const text = JSON.stringify(app.events);
    expect(app.events.map((e) => e.step)).toEqual(["start", "code", "user"]);
    expect(text).not.toContain(email.token as string);
    expect(text).not.toMatch(new RegExp(`(?<![0-9a-f])${email.code as string}(?![0-9a-f])`));
    expect(text).not.toContain("events@example.com");
  });
});

describe("page headers: CSP with a per-request nonce, no framing, no sniffing, HSTS over https", () => {
  const nonceOf = (csp: string | null) => /'nonce-([A-Za-z0-9+/=]+)'/.exec(csp ?? "")?.[1];

  it("each page gets its own nonce, and every inline script carries it", async () => {
    app = createTestApp();
    const handle = await createDocumentHandler();
    const nonces: string[] = [];
    for (const path of ["/", "/", "/login", "/nowhere"]) {
      const response = await handle(new Request(`${TEST_ORIGIN}${path}`));
      const csp = response.headers.get("Content-Security-Policy");
      const nonce = nonceOf(csp);
      expect(nonce, path).toBeDefined();
      expect(Buffer.from(nonce as string, "base64")).toHaveLength(16);
      nonces.push(nonce as string);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("object-src 'none'");
      expect(csp).toContain("base-uri 'none'");
      expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(response.headers.get("X-Frame-Options")).toBe("DENY");
      const html = await response.text();
      const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1] ?? "");
      expect(scripts.length, path).toBeGreaterThan(0);
      for (const attributes of scripts) expect(attributes).toContain(`nonce="${nonce as string}"`);
    }
    expect(new Set(nonces).size).toBe(nonces.length);
  });

  it("no HSTS over http; HSTS and a strict script-src in production over https", async () => {
    app = createTestApp();
    let handle = await createDocumentHandler();
    expect(
      (await handle(new Request(`${TEST_ORIGIN}/`))).headers.get("Strict-Transport-Security"),
    ).toBeNull();
    await app.close();

    app = createTestApp({
      env: {
        NODE_ENV: "production",
        APP_ORIGIN: "https://app.example.test",
        ALLOW_OUTBOX_IN_PRODUCTION: "1",
      },
    });
    handle = await createDocumentHandler();
    const response = await handle(new Request("https://app.example.test/"));
    expect(response.headers.get("Strict-Transport-Security")).toMatch(/^max-age=\d{8,}/);
    const csp = response.headers.get("Content-Security-Policy") as string;
    const scriptSrc = /script-src ([^;]*)/.exec(csp)?.[1] ?? "";
    expect(scriptSrc).not.toContain("unsafe-inline");
    expect(scriptSrc).not.toContain("unsafe-eval");
    expect(/style-src ([^;]*)/.exec(csp)?.[1]).not.toContain("unsafe-inline");
  });
});
