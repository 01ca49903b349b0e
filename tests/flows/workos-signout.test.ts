/**
 * Signing out ends the WorkOS session too, through the real routes, the registry-built
 * adapter and the real SDK against the WorkOS emulator: POST /logout revokes the session
 * named by the access token's `sid`; "sign out everywhere" revokes every WorkOS session of
 * the user (listSessions + revoke); ending one session on /account/sessions revokes its
 * WorkOS session. WorkOS being down or slow never holds up the local sign-out: the
 * revocation waits in the store and happens when WorkOS is back.
 */
import { describe, expect, it } from "vitest";
import * as sessionsPage from "../../app/routes/account.sessions";
import type { SessionRow } from "../../app/routes/account.sessions";
import * as logout from "../../app/routes/logout";
import { callRoute, CookieJar, getRequest, postForm } from "../support/auth";
import {
  calls,
  captureWorkosLog,
  expectCheckEmail,
  expectSignedIn,
  workosFlowSuite,
  type WorkosFlow,
} from "./workos-support";

const flows = workosFlowSuite("workos-magic-auth");

const EMAIL = "grace@example.com";
const REVOKE = "/user_management/sessions/revoke";

/** Sign in by Magic Auth in a new browser; its cookie jar. */
async function signIn(f: WorkosFlow, email = EMAIL): Promise<CookieJar> {
  const jar = new CookieJar();
  expectCheckEmail(await f.start(jar, email), jar);
  expectSignedIn(await f.enterCode(jar, f.emailedCode(email)), jar);
  return jar;
}

async function signOut(jar: CookieJar, fields: Record<string, string> = {}) {
  const result = await callRoute(logout.action, postForm("/logout", fields, { cookie: jar }));
  expect(result.status).toBe(303);
  jar.store(result);
  return result;
}

const statuses = (f: WorkosFlow, email = EMAIL) =>
  f.emulator.userSessions(email).map((session) => session.status);

async function signedIn(f: WorkosFlow, jar: CookieJar): Promise<boolean> {
  return (await f.whoAmI(jar)).status === 200;
}

describe("signing out ends the WorkOS session", () => {
  it("a Magic Auth sign-in keeps the WorkOS session id (and no token) sealed in the session", async () => {
    const f = flows.setUp("workos");
    const jar = await signIn(f);
    const [session] = f.emulator.userSessions(EMAIL);
    expect(session?.status).toBe("active");
    const { session: ours } = await f.app.services.sessions.read(getRequest("/", { cookie: jar }));
    expect(ours?.user.providerSession).toEqual({
      id: session?.id,
      userId: f.emulator.userId(EMAIL),
    });
    // The cookie is sealed: neither the WorkOS ids nor the address can be read from it.
    const opened = Buffer.from(decodeURIComponent(jar.get("session") ?? ""), "base64url");
    for (const readable of [session?.id ?? "?", EMAIL]) {
      expect(opened.toString()).not.toContain(readable);
    }
  });

  it("POST /logout revokes it at WorkOS", async () => {
    const f = flows.setUp("workos");
    const jar = await signIn(f);
    await signOut(jar);
    expect(await signedIn(f, jar)).toBe(false);
    expect(statuses(f)).toEqual(["revoked"]);
    expect(f.app.events).toContainEqual(
      expect.objectContaining({ step: "provider_logout", outcome: "success" }),
    );
    expect(await f.app.services.providerSignOut?.pending()).toBe(0);
  });

  it("with WorkOS down, sign-out still signs out at once, and the revocation happens when WorkOS is back", async () => {
    captureWorkosLog();
    const f = flows.setUp("workos");
    const jar = await signIn(f);
    const copied = jar.clone();
    f.emulator.failNext(REVOKE, { status: 503, times: Infinity });

    await signOut(jar);
    // Signed out here and for any copy of the cookie, although WorkOS did not answer.
    expect(await signedIn(f, copied)).toBe(false);
    expect(statuses(f)).toEqual(["active"]);
    expect(await f.app.services.providerSignOut?.pending()).toBe(1);
    expect(f.app.events).toContainEqual(
      expect.objectContaining({ step: "provider_logout", outcome: "retry_queued:unavailable" }),
    );

    // Not due yet: the retry waits for its backoff.
    expect(await f.app.services.providerSignOut?.retryDue()).toEqual({ done: 0, failed: 0 });
    f.app.clock.advance(31_000);
    // Still down at the first retry: it stays queued, with a longer backoff.
    expect(await f.app.services.providerSignOut?.retryDue()).toEqual({ done: 0, failed: 1 });
    f.emulator.clearFailures();
    f.app.clock.advance(61_000);
    expect(await f.app.services.providerSignOut?.retryDue()).toEqual({ done: 1, failed: 0 });
    expect(statuses(f)).toEqual(["revoked"]);
    expect(await f.app.services.providerSignOut?.pending()).toBe(0);
    expect(f.app.events).toContainEqual(
      expect.objectContaining({ step: "provider_logout", outcome: "success_retried" }),
    );
  });

  it("a WorkOS that answers slowly does not hold up sign-out; it is still told", async () => {
    const f = flows.setUp("workos");
    const jar = await signIn(f);
    f.emulator.failNext(REVOKE, { delayMs: 6_000 });
    await signOut(jar);
    // The sign-out answered before WorkOS did (it waits at most two seconds).
    expect(statuses(f)).toEqual(["active"]);
    expect(await signedIn(f, jar)).toBe(false);
    expect(f.app.events).toContainEqual(
      expect.objectContaining({ step: "provider_logout", outcome: "slow:continuing" }),
    );
    await expect.poll(() => statuses(f), { timeout: 15_000, interval: 200 }).toEqual(["revoked"]);
  }, 30_000);

  it("sign out everywhere revokes every WorkOS session of the user (listSessions + revoke)", async () => {
    const f = flows.setUp("workos");
    const laptop = await signIn(f);
    const phone = await signIn(f);
    const other = await signIn(f, "ada@example.com");
    expect(statuses(f)).toEqual(["active", "active"]);

    await signOut(laptop, { scope: "all" });
    expect(await signedIn(f, laptop)).toBe(false);
    expect(await signedIn(f, phone)).toBe(false);
    expect(statuses(f)).toEqual(["revoked", "revoked"]);
    const listed = f.emulator
      .requests()
      .filter((r) => r.path === `/user_management/users/${f.emulator.userId(EMAIL)}/sessions`);
    expect(listed).toHaveLength(1);
    // Nobody else's sessions end.
    expect(await signedIn(f, other)).toBe(true);
    expect(statuses(f, "ada@example.com")).toEqual(["active"]);
  });

  it("ending one session on /account/sessions revokes that WorkOS session only", async () => {
    const f = flows.setUp("workos");
    const laptop = await signIn(f);
    const phone = await signIn(f);
    const page = await callRoute(
      sessionsPage.loader,
      getRequest("/account/sessions", { cookie: laptop }),
    );
    const rows = (page.data as { sessions: SessionRow[] }).sessions;
    const phoneRow = rows.find((row) => !row.current);
    expect(phoneRow).toBeDefined();

    const ended = await callRoute(
      sessionsPage.action,
      postForm(
        "/account/sessions",
        { intent: "revoke", sessionId: phoneRow?.handle ?? "" },
        { cookie: laptop },
      ),
    );
    expect(ended.status).toBe(303);
    expect(await signedIn(f, phone)).toBe(false);
    expect(await signedIn(f, laptop)).toBe(true);
    // The phone signed in second: its WorkOS session is the second one.
    expect(statuses(f)).toEqual(["active", "revoked"]);
    expect(calls(flows.emulator, REVOKE)).toBe(1);
  });
});
