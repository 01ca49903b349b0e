/**
 * Shared steps of the WorkOS flow tests: an app built by the real registry from
 * `AUTH_ADAPTER`, `WORKOS_*` and `WORKOS_EMAIL`, talking to the WorkOS emulator; a person's
 * browser (a cookie jar) going through the real route loaders and actions; and where the
 * email went (the emulator's record when WorkOS sends it, the app's outbox when the app does).
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect, vi } from "vitest";
import type { Mailer } from "../../app/mail/types";
import type { ServiceOverrides } from "../../app/services.server";
import { describeError } from "../../app/auth/messages";
import type { ErrorView } from "../../app/auth/messages";
import * as callback from "../../app/routes/auth.callback";
import * as dashboard from "../../app/routes/dashboard";
import * as check from "../../app/routes/login.check";
import * as login from "../../app/routes/login";
import type { CookieJar } from "../support/auth";
import {
  callRoute,
  createTestApp,
  getRequest,
  postForm,
  TEST_ORIGIN,
  type RouteResult,
  type TestApp,
} from "../support/auth";
import { startWorkosEmulator, type WorkosEmulator } from "../emulators/workos/server";

export type WorkosAdapterName = "workos-magic-link" | "workos-magic-auth" | "workos";
export type EmailMode = "workos" | "app";
export const EMAIL_MODES: readonly EmailMode[] = ["workos", "app"];

export { callback, check, dashboard, login };

export interface WorkosFlow {
  app: TestApp;
  emulator: WorkosEmulator;
  mode: EmailMode;
  /** POST /login in `jar`'s browser and keep its cookies; returns what the action answered. */
  start(jar: CookieJar, email: string, returnTo?: string): Promise<RouteResult>;
  /** The newest Magic Link emailed to `email` (by WorkOS or by the app, per the mode). */
  emailedLink(email: string): string;
  /** The newest Magic Auth code emailed to `email` (by WorkOS or by the app, per the mode). */
  emailedCode(email: string): string;
  /** Open a WorkOS link as a browser would, stopping at its redirect: the app URL it points to. */
  visit(link: string): Promise<string>;
  /** GET /auth/callback (the redirect's target) in `jar`'s browser. */
  callback(url: string, jar?: CookieJar): Promise<RouteResult>;
  /** POST a code on the check page in `jar`'s browser. */
  enterCode(jar: CookieJar, code: string): Promise<RouteResult>;
  /** The signed-in user in `jar`'s browser, or the redirect to /login. */
  whoAmI(jar: CookieJar): Promise<RouteResult>;
}

export interface FlowOptions {
  env?: Record<string, string>;
  adapter?: ServiceOverrides["adapter"];
  mailer?: Mailer;
  limits?: ServiceOverrides["limits"];
}

/** Build the app for `adapter` in `mode` against `emulator`; close `flow.app` after the test. */
export function workosFlow(
  emulator: WorkosEmulator,
  adapter: WorkosAdapterName,
  mode: EmailMode,
  options: FlowOptions = {},
): WorkosFlow {
  const app = createTestApp({
    // No retries: a failure row is one answer, and the suite stays fast.
    env: {
      AUTH_ADAPTER: adapter,
      ...emulator.env,
      WORKOS_EMAIL: mode,
      WORKOS_MAX_RETRIES: "0",
      ...options.env,
    },
    adapter: options.adapter,
    mailer: options.mailer,
    limits: options.limits,
  });
  expect(app.config.adapter).toBe(adapter);
  return {
    app,
    emulator,
    mode,
    async start(jar, email, returnTo = "/dashboard") {
      const result = await callRoute(
        login.action,
        postForm("/login", { email, returnTo }, { cookie: jar }),
      );
      jar.store(result);
      return result;
    },
    emailedLink(email) {
      if (mode === "workos") {
        const sent = emulator.lastEmailTo(email);
        expect(sent?.kind).toBe("magic_link");
        expect(app.outbox.latestTo(email)).toBeUndefined();
        return sent?.link as string;
      }
      // The app sends `session.link` itself, and WorkOS was not asked to send (no double email).
      expect(emulator.sentEmails().some((sent) => sent.kind === "magic_link")).toBe(false);
      const link = app.lastEmailTo(email).link;
      expect(link).toBeDefined();
      return link as string;
    },
    emailedCode(email) {
      const code =
        mode === "workos" ? emulator.lastEmailTo(email)?.code : app.lastEmailTo(email).code;
      expect(code).toMatch(/^\d{6}$/);
      if (mode === "workos") expect(app.outbox.latestTo(email)).toBeUndefined();
      return code as string;
    },
    async visit(link) {
      expect(link.startsWith(`${emulator.url}/`)).toBe(true);
      const response = await fetch(link, { redirect: "manual" });
      expect(response.status).toBe(302);
      const location = response.headers.get("Location") ?? "";
      // The redirect URI is built from APP_ORIGIN (S15).
      expect(location.startsWith(`${TEST_ORIGIN}/auth/callback?`)).toBe(true);
      return location;
    },
    callback(url, jar) {
      return callRoute(callback.loader, getRequest(url, { cookie: jar }));
    },
    async enterCode(jar, code) {
      const result = await callRoute(
        check.action,
        postForm("/login/check", { code }, { cookie: jar }),
      );
      jar.store(result);
      return result;
    },
    whoAmI(jar) {
      return callRoute(dashboard.loader, getRequest("/dashboard", { cookie: jar }));
    },
  };
}

/** Asserts a sign-in step ended in a session: 303 to `returnTo`, session cookie set, pending cleared. */
export function expectSignedIn(result: RouteResult, jar: CookieJar, returnTo = "/dashboard"): void {
  expect(result.status, JSON.stringify(result.data)).toBe(303);
  expect(result.location).toBe(returnTo);
  jar.store(result);
  expect(jar.has("session")).toBe(true);
  expect(jar.has("pending")).toBe(false);
}

/** Asserts a page answered with an error (never a 500), and returns its words. */
export function expectErrorPage(result: RouteResult, code: ErrorView["code"], status: number) {
  expect(result.status).toBe(status);
  expect(result.headers.getSetCookie().some((cookie) => cookie.startsWith("session="))).toBe(false);
  const error = (result.data as { error?: ErrorView } | undefined)?.error;
  expect(error?.code).toBe(code);
  return describeError(error as ErrorView);
}

/** Asserts the start step went through: 303 to the check page with a pending cookie. */
export function expectCheckEmail(result: RouteResult, jar: CookieJar): void {
  expect(result.status, JSON.stringify(result.data)).toBe(303);
  expect(result.location).toBe("/login/check");
  expect(jar.has("pending")).toBe(true);
}

/** The path and query of the WorkOS requests the emulator saw, for "was X called". */
export function calls(emulator: WorkosEmulator, path: string): number {
  return emulator.requests().filter((request) => request.path === path).length;
}

/**
 * Collect the WorkOS client's failure log (one JSON line per failure on console.warn) for
 * the rest of the test, instead of printing it.
 */
export function captureWorkosLog(): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  vi.spyOn(console, "warn").mockImplementation((line: unknown) => {
    if (typeof line === "string" && line.includes('"workos_failure"'))
      lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  return lines;
}

/**
 * The shared set-up of a WorkOS flow test file: one emulator for the file, reset before
 * each test, and each test's app (from `setUp`) closed after it.
 */
export function workosFlowSuite(adapter: WorkosAdapterName) {
  let emulator: WorkosEmulator | undefined;
  let flow: WorkosFlow | undefined;
  beforeAll(async () => {
    emulator = await startWorkosEmulator();
  });
  afterAll(() => emulator?.close());
  beforeEach(() => emulator?.reset());
  afterEach(async () => {
    vi.restoreAllMocks();
    await flow?.app.close();
    flow = undefined;
  });
  return {
    get emulator(): WorkosEmulator {
      if (!emulator) throw new Error("the emulator starts in beforeAll");
      return emulator;
    },
    setUp(mode: EmailMode, options?: FlowOptions): WorkosFlow {
      flow = workosFlow(this.emulator, adapter, mode, options);
      return flow;
    },
  };
}
