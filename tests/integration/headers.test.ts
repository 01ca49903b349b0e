/**
 * The production server (`npm start`) puts the app's response headers on everything it
 * answers, not only pages: `.data`, /healthz, static files, robots.txt and the favicon,
 * and Express's own error pages.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESPONSE_HEADERS } from "../../app/entry.server";
import {
  productionBuild,
  startProductionServer,
  type ProductionServer,
} from "../support/production-app";

let server: ProductionServer;
let asset: string;

beforeAll(async () => {
  const build = await productionBuild();
  const origin = "http://127.0.0.1";
  server = await startProductionServer(build, {
    APP_ORIGIN: origin,
    SESSION_SECRETS: "headers-test-secret-0123456789abcdef0123",
    MAIL_TRANSPORT: "outbox",
    ALLOW_OUTBOX_IN_PRODUCTION: "1",
    STORE: "memory",
  });
  const page = await (await fetch(`${server.url}/login`)).text();
  asset = /\/assets\/[^"]+\.js/.exec(page)?.[0] ?? "/assets/missing.js";
}, 180_000);

afterAll(async () => {
  await server?.stop();
});

describe("headers on every response of the production server", () => {
  const paths = () => [
    ["a page", "/login"],
    ["a .data answer", "/login.data"],
    ["/healthz", "/healthz"],
    ["a built asset", asset],
    ["robots.txt", "/robots.txt"],
    ["the favicon", "/favicon.ico"],
    ["a page that does not exist", "/nowhere"],
    // A path Express itself cannot decode: its own error page answers.
    ["an Express error page", "/%E0%A4%A"],
  ];

  it("nosniff, Permissions-Policy (WebAuthn for this origin only), COOP and CORP", async () => {
    expect(RESPONSE_HEADERS["Permissions-Policy"]).toContain("publickey-credentials-get=(self)");
    expect(RESPONSE_HEADERS["Permissions-Policy"]).toContain("camera=()");
    for (const [what, url] of paths()) {
      const response = await fetch(`${server.url}${url}`);
      await response.body?.cancel();
      for (const [name, value] of Object.entries(RESPONSE_HEADERS)) {
        expect(response.headers.get(name), `${name} on ${what} (${url}, ${response.status})`).toBe(
          value,
        );
      }
    }
  });

  it("serves the favicon and robots.txt instead of a 404", async () => {
    const icon = await fetch(`${server.url}/favicon.ico`);
    expect(icon.status).toBe(200);
    expect((await icon.arrayBuffer()).byteLength).toBeGreaterThan(0);
    const robots = await fetch(`${server.url}/robots.txt`);
    expect(robots.status).toBe(200);
    const rules = await robots.text();
    expect(rules).toMatch(/^Disallow: \/auth\/$/m);
    // The sign-in pages stay crawlable: a blocked /login/check fails Lighthouse's SEO audit,
    // and a crawler there has no sign-in under way and is sent to /login anyway.
    expect(rules).not.toMatch(/^Disallow: \/login/m);
  });
});

describe("/healthz, answered by server.js ahead of React Router", () => {
  it("the route's JSON, status and headers, for GET and HEAD", async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(await response.json()).toEqual({
      status: "ok",
      store: "ok",
      mail: "ok",
      mailBacklog: 0,
      mailOldestAgeSeconds: 0,
    });
    const head = await fetch(`${server.url}/healthz`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  it("never reaches the app's session machinery: a dead session cookie on a probe is left alone", async () => {
    // Through React Router, the auth middleware would read this cookie, refuse it and send
    // a Set-Cookie clearing it; a probe costs none of that.
    const response = await fetch(`${server.url}/healthz`, {
      headers: { Cookie: "session=not-a-sealed-session" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.getSetCookie()).toEqual([]);
    await response.body?.cancel();
    // The same cookie on a page is cleared: the difference is where /healthz is answered.
    const page = await fetch(`${server.url}/login`, {
      headers: { Cookie: "session=not-a-sealed-session" },
    });
    await page.body?.cancel();
    expect(page.headers.getSetCookie().some((cookie) => cookie.startsWith("session=;"))).toBe(true);
  });
});
