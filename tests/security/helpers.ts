/**
 * Small helpers shared by the security tests: one browser's sign-in through the real route
 * actions, and readers for what came back.
 */
import { expect } from "vitest";
import * as check from "../../app/routes/login.check";
import * as login from "../../app/routes/login";
import { MemoryStore } from "../../app/store/memory.server";
import {
  callRoute,
  postForm,
  type CookieJar,
  type ReadEmail,
  type RouteResult,
  type TestApp,
} from "../support/auth";

/** POST /login in `jar`'s browser; the 303 is checked and its cookies kept. */
export async function startSignIn(
  jar: CookieJar,
  email: string,
  fields: Record<string, string> = {},
  headers?: HeadersInit,
): Promise<RouteResult> {
  const result = await callRoute(
    login.action,
    postForm("/login", { email, ...fields }, { cookie: jar, headers }),
  );
  expect(result.status).toBe(303);
  expect(result.location).toBe("/login/check");
  jar.store(result);
  return result;
}

/** POST /login, then the email it sent. */
export async function requestEmail(
  app: TestApp,
  jar: CookieJar,
  email: string,
  fields: Record<string, string> = {},
): Promise<ReadEmail> {
  await startSignIn(jar, email, fields);
  return app.lastEmailTo(email);
}

/** POST /login/check with `code` in `jar`'s browser. */
export function submitCode(jar: CookieJar, code: string): Promise<RouteResult> {
  return callRoute(check.action, postForm("/login/check", { code }, { cookie: jar }));
}

/** The Set-Cookie lines of a result that set (not clear) a session cookie. */
export function sessionCookies(result: RouteResult | Response): string[] {
  return result.headers.getSetCookie().filter((line) => /^(__Host-)?session=[^;]/.test(line));
}

/** Every raw `[key, value]` of the app's in-memory store. */
export function dumpStore(app: TestApp): Array<[string, string]> {
  if (!(app.store instanceof MemoryStore)) throw new Error("dumpStore needs the in-memory store");
  return app.store.dump();
}

/** The body of a response as text, without consuming the original. */
export function bodyText(result: RouteResult): Promise<string> {
  return result.response.clone().text();
}
