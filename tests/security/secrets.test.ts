/**
 * A. Secrets: generation and storage (S1–S6), through the real routes and the local adapter.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../app/config.server";
import { randomCode, randomToken, safeEqual } from "../../app/lib/crypto.server";
import * as link from "../../app/routes/auth.link";
import * as check from "../../app/routes/login.check";
import {
  callRoute,
  CookieJar,
  createTestApp,
  getRequest,
  postForm,
  TEST_ORIGIN,
  TEST_SECRET,
  type TestApp,
} from "../support/auth";
import { dumpStore, requestEmail, sessionCookies, submitCode } from "./helpers";

const ROOT = join(import.meta.dirname, "..", "..");

/** Every .ts/.tsx file under `dir` (relative to the project), tests excluded. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (path: string) => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name)) out.push(full);
    }
  };
  walk(join(ROOT, dir));
  return out;
}

let app: TestApp;
beforeEach(() => {
  app = createTestApp();
});
afterEach(() => app.close());

describe("S1 randomness: 32-byte tokens and uniform six-digit codes from node:crypto", () => {
  it("the emailed link's token decodes to 32 bytes, and two emails never share one", async () => {
    const first = await requestEmail(app, new CookieJar(), "one@example.com");
    const second = await requestEmail(app, new CookieJar(), "two@example.com");
    for (const email of [first, second]) {
      expect(email.token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(Buffer.from(email.token as string, "base64url")).toHaveLength(32);
      expect(email.code).toMatch(/^\d{6}$/);
    }
    expect(first.token).not.toBe(second.token);
    expect(Buffer.from(randomToken(), "base64url")).toHaveLength(32);
  });

  it("10,000 codes are six digits and spread evenly over 0–9 in every position (χ² bound, p < 1e-6)", () => {
    const counts = Array.from({ length: 6 }, () => new Array<number>(10).fill(0));
    for (let i = 0; i < 10_000; i++) {
      const code = randomCode();
      expect(code).toMatch(/^\d{6}$/);
      for (let position = 0; position < 6; position++)
        (counts[position] as number[])[Number(code[position])]! += 1;
    }
    for (const row of counts) {
      // Expected 1,000 per digit; χ² with 9 degrees of freedom exceeds 50 with p ≈ 1e-7.
      const chiSquare = row.reduce((sum, observed) => sum + (observed - 1000) ** 2 / 1000, 0);
      expect(Math.min(...row)).toBeGreaterThan(0);
      expect(chiSquare).toBeLessThan(50);
    }
  });

  it("no Math.random anywhere in app/ or adapters/, and no UUIDs where secrets are made", () => {
    const files = [...sourceFiles("app"), ...sourceFiles("adapters")];
    expect(files.length).toBeGreaterThan(20);
    const offenders = files
      .filter((file) => /Math\s*\.\s*random/.test(readFileSync(file, "utf8")))
      .map((file) => relative(ROOT, file));
    expect(offenders).toEqual([]);
    for (const file of [
      "app/lib/crypto.server.ts",
      "adapters/local.ts",
      "app/auth/pending.server.ts",
      "app/auth/session.server.ts",
    ]) {
      expect(readFileSync(join(ROOT, file), "utf8")).not.toMatch(/randomUUID|uuid/i);
    }
    const crypto = readFileSync(join(ROOT, "app/lib/crypto.server.ts"), "utf8");
    expect(crypto).toMatch(/randomBytes\(bytes\)/);
    expect(crypto).toMatch(/randomInt\(0, 1_000_000\)/);
  });
});

describe("S2 server-side expiry: a link or code is good for 10 minutes, not 10:01", () => {
  it("the code is accepted at +9:59 and refused at +10:01", async () => {
    const onTime = new CookieJar();
    const email = await requestEmail(app, onTime, "clock@example.com");
    const late = onTime.clone();

    app.clock.advance(10 * 60_000 + 1_000);
    const refused = await submitCode(late, email.code as string);
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(sessionCookies(refused)).toEqual([]);

    app.clock.advance(-2_000); // back to +9:59: the same code in the same browser still works
    const accepted = await submitCode(onTime, email.code as string);
    expect(accepted.status).toBe(303);
    expect(sessionCookies(accepted)).toHaveLength(1);
  });

  it("the link is accepted at +9:59 and refused at +10:01", async () => {
    const jar = new CookieJar();
    const email = await requestEmail(app, jar, "clock@example.com");
    app.clock.advance(10 * 60_000 + 1_000);
    const refused = await callRoute(
      link.action,
      postForm("/auth/link", { token: email.token as string }, { cookie: jar }),
    );
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(sessionCookies(refused)).toEqual([]);
    app.clock.advance(-2_000);
    const accepted = await callRoute(
      link.action,
      postForm("/auth/link", { token: email.token as string }, { cookie: jar }),
    );
    expect(accepted.status).toBe(303);
    expect(sessionCookies(accepted)).toHaveLength(1);
  });

  it("the server's record expires on its own: with LOGIN_TTL=300 the same browser hears 'expired' at +5:01", async () => {
    await app.close();
    app = createTestApp({ env: { LOGIN_TTL: "300" } });
    const jar = new CookieJar();
    const email = await requestEmail(app, jar, "short@example.com");
    app.clock.advance(5 * 60_000 + 1_000);
    // The pending cookie (10 minutes) is still good: only the server-side record has expired.
    const result = await submitCode(jar, email.code as string);
    expect(result.data).toEqual({ error: { code: "expired" } });
  });

  it("LOGIN_TTL may be set down, never above 15 minutes", () => {
    const env = { NODE_ENV: "test", APP_ORIGIN: TEST_ORIGIN, SESSION_SECRETS: TEST_SECRET };
    expect(parseConfig({ ...env }).loginTtlSeconds).toBe(600);
    expect(parseConfig({ ...env, LOGIN_TTL: "120" }).loginTtlSeconds).toBe(120);
    expect(() => parseConfig({ ...env, LOGIN_TTL: "901" })).toThrow(/LOGIN_TTL/);
  });
});

describe("S3 single use, consumed atomically: 20 parallel redemptions give one session", () => {
  it("20 concurrent POSTs of one link from the browser that asked: exactly one session Set-Cookie", async () => {
    const jar = new CookieJar();
    const email = await requestEmail(app, jar, "race@example.com");
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        callRoute(
          link.action,
          postForm("/auth/link", { token: email.token as string }, { cookie: jar }),
        ),
      ),
    );
    expect(results.flatMap(sessionCookies)).toHaveLength(1);
    expect(results.filter((r) => r.status === 303)).toHaveLength(1);
    expect(results.filter((r) => r.status === 400)).toHaveLength(19);
  });

  it("20 concurrent POSTs of one code: exactly one session Set-Cookie", async () => {
    const jar = new CookieJar();
    const email = await requestEmail(app, jar, "race@example.com");
    const results = await Promise.all(
      Array.from({ length: 20 }, () => submitCode(jar, email.code as string)),
    );
    expect(results.flatMap(sessionCookies)).toHaveLength(1);
    expect(results.filter((r) => r.status === 303)).toHaveLength(1);
  });

  it("the link and the code of one email share one record: 10 links and 10 codes at once, one session", async () => {
    const jar = new CookieJar();
    const email = await requestEmail(app, jar, "race@example.com");
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? submitCode(jar, email.code as string)
          : callRoute(
              link.action,
              postForm("/auth/link", { token: email.token as string }, { cookie: jar }),
            ),
      ),
    );
    expect(results.flatMap(sessionCookies)).toHaveLength(1);
    // Afterwards neither works.
    expect((await submitCode(jar.clone(), email.code as string)).status).toBe(400);
  });
});

describe("S4 newest request wins", () => {
  it("request A, request B: A's code and A's link are refused, B's code works", async () => {
    const jar = new CookieJar();
    const a = await requestEmail(app, jar, "twice@example.com");
    const b = await requestEmail(app, jar, "twice@example.com");
    expect(a.token).not.toBe(b.token);
    if (a.code !== b.code) {
      const oldCode = await submitCode(jar, a.code as string);
      expect(oldCode.status).toBe(400);
      expect(sessionCookies(oldCode)).toEqual([]);
    }
    const oldLink = await callRoute(
      link.action,
      postForm("/auth/link", { token: a.token as string }, { cookie: jar }),
    );
    expect(oldLink.status).toBeGreaterThanOrEqual(400);
    expect(sessionCookies(oldLink)).toEqual([]);
    const current = await submitCode(jar, b.code as string);
    expect(current.status).toBe(303);
  });
});

describe("S5 hashes at rest: the store never holds the emailed code or token", () => {
  /** True when `secret` occurs in `text` as a whole value, not inside a longer hex or digit run. */
  const holds = (text: string, secret: string) =>
    new RegExp(`(?<![0-9a-fA-F])${secret}(?![0-9a-fA-F])`).test(text) ||
    text.includes(`"${secret}"`);

  it("after a request, and after a wrong and a right code, no raw code or token is in any key or value", async () => {
    const jar = new CookieJar();
    const email = await requestEmail(app, jar, "rest@example.com");
    const token = email.token as string;
    const code = email.code as string;
    const afterRequest = dumpStore(app);
    expect(afterRequest.length).toBeGreaterThan(0);
    const text = afterRequest.map(([key, value]) => `${key}\n${value}`).join("\n");
    expect(text.includes(token)).toBe(false);
    expect(holds(text, code)).toBe(false);
    // Keyed hashes are what it holds: 64 hex digits.
    expect(afterRequest.some(([key]) => /^login:token:[0-9a-f]{64}$/.test(key))).toBe(true);

    await submitCode(jar, code === "000000" ? "111111" : "000000");
    await callRoute(check.loader, getRequest("/login/check", { cookie: jar }));
    await submitCode(jar, code);
    const after = dumpStore(app)
      .map(([key, value]) => `${key}\n${value}`)
      .join("\n");
    expect(after.includes(token)).toBe(false);
    expect(holds(after, code)).toBe(false);
  });
});

describe("S6 constant-time comparison", () => {
  it("safeEqual is exact, length-safe, and built on crypto.timingSafeEqual", () => {
    expect(safeEqual("a".repeat(64), "a".repeat(64))).toBe(true);
    expect(safeEqual("a".repeat(64), `${"a".repeat(63)}b`)).toBe(false);
    expect(safeEqual("abc", "abcd")).toBe(false);
    expect(safeEqual("", "")).toBe(true);
    const source = readFileSync(join(ROOT, "app/lib/crypto.server.ts"), "utf8");
    expect(source).toMatch(/export function safeEqual[\s\S]*?timingSafeEqual\(left, right\)/);
  });

  it("the local adapter and the pending state compare secrets and their hashes only through safeEqual", () => {
    for (const file of ["adapters/local.ts", "app/auth/pending.server.ts"]) {
      const source = readFileSync(join(ROOT, file), "utf8");
      expect(source).toMatch(/safeEqual\(/);
      // No plain ===/!== on a token, code, nonce or MAC value.
      expect(source).not.toMatch(
        /\b(?:record\.(?:token|code|nonce)|mac|nonceHash)\s*[!=]==|[!=]==\s*(?:record\.(?:token|code|nonce)|mac|nonceHash)\b/,
      );
    }
  });
});
