/**
 * Enterprise SSO by email domain, through the real routes, the registry-built adapter and
 * the real SDK against the WorkOS emulator (its organizations, domains and IdP): POST
 * /login with an address at an SSO domain answers 303 to WorkOS's authorization URL for
 * that organization; WorkOS sends the browser back to /auth/callback, which exchanges the
 * code only in the browser that started (S8) and only for an identity at the typed domain.
 * Other domains keep the email sign-in.
 */
import { describe, expect, it } from "vitest";
import * as login from "../../app/routes/login";
import { callRoute, CookieJar, postForm, TEST_ORIGIN } from "../support/auth";
import {
  callback,
  calls,
  captureWorkosLog,
  expectCheckEmail,
  expectErrorPage,
  expectSignedIn,
  workosFlowSuite,
  type FlowOptions,
  type WorkosFlow,
} from "./workos-support";

const flows = workosFlowSuite("workos");

const ORG = "org_acme";
const EMAIL = "jane@acme.test";
const AUTHENTICATE = "/user_management/authenticate";
const SSO_ENV = { WORKOS_SSO_DOMAINS: `acme.test:${ORG}` };

function setUp(options: FlowOptions = {}): WorkosFlow {
  const f = flows.setUp("workos", { ...options, env: { ...SSO_ENV, ...options.env } });
  f.emulator.addOrganization({ id: ORG, domains: ["acme.test"] });
  return f;
}

/** POST /login for an SSO address in `jar`: the authorization URL it was sent to. */
async function startSso(f: WorkosFlow, jar: CookieJar, email = EMAIL): Promise<URL> {
  const result = await f.start(jar, email, "/dashboard?from=sso");
  expect(result.status, JSON.stringify(result.data)).toBe(303);
  expect(jar.has("pending")).toBe(true);
  return new URL(result.location ?? "");
}

describe("enterprise SSO by email domain", () => {
  it("signs in: POST /login → 303 to WorkOS for the organization → /auth/callback → session", async () => {
    const f = setUp();
    const jar = new CookieJar();
    const authorize = await startSso(f, jar);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(
      `${f.emulator.url}/user_management/authorize`,
    );
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      organization_id: ORG,
      login_hint: EMAIL,
      client_id: f.emulator.clientId,
      response_type: "code",
      // Built from APP_ORIGIN, never from the request (S15).
      redirect_uri: `${TEST_ORIGIN}/auth/callback`,
    });
    // The state is the signed pending id, never the return path (S16).
    expect(authorize.searchParams.get("state")).toMatch(/^[0-9a-f]{32}\.[0-9a-f]{32}$/);
    // Nothing was emailed for an SSO address.
    expect(f.emulator.sentEmails()).toHaveLength(0);
    expect(f.app.outbox.latestTo(EMAIL)).toBeUndefined();

    const back = await f.visit(authorize.toString());
    const done = await f.callback(back, jar);
    expectSignedIn(done, jar, "/dashboard?from=sso");
    expect((await f.whoAmI(jar)).data).toMatchObject({ email: EMAIL, adapter: "workos-sso" });
    // The WorkOS session is kept for sign-out, as for Magic Auth.
    expect(f.emulator.userSessions(EMAIL)).toMatchObject([
      { status: "active", authMethod: "sso", organizationId: ORG },
    ]);
    expect(f.app.events).toContainEqual(
      expect.objectContaining({ step: "sso", outcome: "redirect", adapter: "workos-sso" }),
    );
  });

  it("with JavaScript the page gets the redirect as data (to say so first), with the same cookie", async () => {
    const f = setUp();
    const jar = new CookieJar();
    const result = await callRoute(
      login.action,
      postForm("/login", { email: EMAIL, returnTo: "/dashboard", js: "1" }, { cookie: jar }),
    );
    expect(result.status).toBe(200);
    const { redirectTo } = result.data as { redirectTo: string };
    expect(redirectTo.startsWith(`${f.emulator.url}/user_management/authorize?`)).toBe(true);
    jar.store(result);
    expectSignedIn(await f.callback(await f.visit(redirectTo), jar), jar);
  });

  it("an address at another domain keeps the email sign-in", async () => {
    const f = setUp();
    const jar = new CookieJar();
    expectCheckEmail(await f.start(jar, "grace@example.com"), jar);
    expect(f.emulator.lastEmailTo("grace@example.com")?.kind).toBe("magic_link");
  });

  it("the callback in another browser signs nobody in there, and exchanges nothing", async () => {
    const f = setUp();
    const authorize = await startSso(f, new CookieJar());
    const back = await f.visit(authorize.toString());
    const elsewhere = await f.callback(back, new CookieJar());
    // No session; the page offers Continue, whose POST the strategy checks again (S8).
    expect(elsewhere.status).toBe(200);
    expect(elsewhere.headers.getSetCookie().some((c) => c.startsWith("session="))).toBe(false);
    const pressed = await callRoute(
      callback.action,
      postForm("/auth/callback", Object.fromEntries(new URL(back).searchParams)),
    );
    expectErrorPage(pressed, "not_same_browser", 403);
    expect(calls(f.emulator, AUTHENTICATE)).toBe(0);
  });

  it("a profile for another domain than the typed address is refused, and its WorkOS session ended", async () => {
    const f = setUp();
    f.emulator.setSsoProfile(EMAIL, { email: "jane@elsewhere.test" });
    const jar = new CookieJar();
    const back = await f.visit((await startSso(f, jar)).toString());
    expectErrorPage(await f.callback(back, jar), "invalid", 400);
    expect(f.app.events).toContainEqual(
      expect.objectContaining({ step: "callback", outcome: "email_mismatch" }),
    );
    await expect
      .poll(() => f.emulator.userSessions("jane@elsewhere.test").map((s) => s.status))
      .toEqual(["revoked"]);
  });

  it("another address at the same domain (an alias the IdP answers with) is accepted", async () => {
    const f = setUp();
    f.emulator.setSsoProfile(EMAIL, { email: "jane.doe@acme.test", firstName: "Jane" });
    const jar = new CookieJar();
    const back = await f.visit((await startSso(f, jar)).toString());
    expectSignedIn(await f.callback(back, jar), jar, "/dashboard?from=sso");
    expect((await f.whoAmI(jar)).data).toMatchObject({ email: "jane.doe@acme.test" });
  });

  it.each([
    ["the IdP refused (access_denied)", "deny"],
    ["the organization has no active connection", "inactive"],
  ] as const)("?error= from WorkOS (%s) is a page, never a session", async (_name, how) => {
    const f = setUp();
    if (how === "deny") f.emulator.setSsoProfile(EMAIL, { deny: true });
    else f.emulator.addOrganization({ id: ORG, domains: ["acme.test"], connection: "inactive" });
    const jar = new CookieJar();
    const back = await f.visit((await startSso(f, jar)).toString());
    expect(new URL(back).searchParams.get("error")).toBeTruthy();
    const page = await f.callback(back, jar);
    expect(page.status).toBeGreaterThanOrEqual(400);
    expect(page.status).toBeLessThan(500);
    expect(page.headers.getSetCookie().some((c) => c.startsWith("session="))).toBe(false);
    // A code by email is no way in for an organization that signs in with SSO.
    expect((page.data as { canSendCode: boolean }).canSendCode).toBe(false);
  });

  it("a callback code works once", async () => {
    const f = setUp();
    const jar = new CookieJar();
    const back = await f.visit((await startSso(f, jar)).toString());
    const before = jar.clone();
    expectSignedIn(await f.callback(back, jar), jar, "/dashboard?from=sso");
    expectErrorPage(await f.callback(back, before), "used", 400);
  });

  it("WorkOS failing at the exchange is a page (503), never a 500", async () => {
    captureWorkosLog();
    const f = setUp();
    const jar = new CookieJar();
    const back = await f.visit((await startSso(f, jar)).toString());
    f.emulator.failNext(AUTHENTICATE, { status: 500 });
    expectErrorPage(await f.callback(back, jar), "unavailable", 503);
  });
});

describe("finding the organization through WorkOS (WORKOS_SSO_LOOKUP=1)", () => {
  const lookup = (f: WorkosFlow) => calls(f.emulator, "/organizations");

  it("a verified domain of an organization with an active connection signs in with SSO; the answer is cached", async () => {
    const f = flows.setUp("workos", { env: { WORKOS_SSO_LOOKUP: "1" } });
    const { id } = f.emulator.addOrganization({ domains: ["globex.test"] });
    const jar = new CookieJar();
    const authorize = await startSso(f, jar, "hank@globex.test");
    expect(authorize.searchParams.get("organization_id")).toBe(id);
    expect(lookup(f)).toBe(1);
    expect(calls(f.emulator, "/connections")).toBe(1);
    await startSso(f, new CookieJar(), "homer@globex.test");
    expect(lookup(f)).toBe(1);
    expectSignedIn(
      await f.callback(await f.visit(authorize.toString()), jar),
      jar,
      "/dashboard?from=sso",
    );
  });

  it("a domain with no organization, or one without an active connection, keeps the email sign-in (also cached)", async () => {
    const f = flows.setUp("workos", { env: { WORKOS_SSO_LOOKUP: "1" } });
    f.emulator.addOrganization({ domains: ["initech.test"], connection: "inactive" });
    for (const email of ["peter@initech.test", "grace@example.com", "grace@example.com"]) {
      const jar = new CookieJar();
      expectCheckEmail(await f.start(jar, email), jar);
    }
    expect(lookup(f)).toBe(2);
  });

  it("WorkOS not answering the lookup does not stop sign-in: the email sign-in goes on", async () => {
    captureWorkosLog();
    const f = flows.setUp("workos", { env: { WORKOS_SSO_LOOKUP: "1" } });
    f.emulator.addOrganization({ domains: ["globex.test"] });
    f.emulator.failNext("/organizations", { status: 500 });
    const jar = new CookieJar();
    expectCheckEmail(await f.start(jar, "hank@globex.test"), jar);
    expect(f.emulator.lastEmailTo("hank@globex.test")?.kind).toBe("magic_link");
  });
});
