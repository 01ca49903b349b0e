/**
 * The testing kit: one import for tests of routes that involve sign-in.
 *
 * ```ts
 * import { createTestApp, signedInRequest, callRoute, expectRedirectToLogin } from "../support/auth";
 * ```
 *
 * Everything goes through the real code: the real session manager signs the cookies, the
 * real strategy and adapter run, and the root middleware (origin check, session rolling,
 * cache headers) wraps every route call.
 */
import { pageUrl } from "../../app/lib/request-url";
import { createElement, type ComponentType } from "react";
import { expect } from "vitest";
import { createRoutesStub, RouterContextProvider } from "react-router";
import type { AuthAdapter, Identity } from "../../adapters/types";
import { authMiddleware } from "../../app/auth/middleware.server";
import type {
  FirstSignIn,
  FirstSignInDecision,
  User,
  UserFields,
} from "../../app/auth/users.server";
import { parseConfig, type Config } from "../../app/config.server";
import type { Logger, AuthEvent } from "../../app/lib/log.server";
import { Outbox } from "../../app/mail/outbox.server";
import type { MailEvent } from "../../app/mail/queue.server";
import type { Mailer } from "../../app/mail/types";
import {
  createServices,
  getServices,
  setServices,
  type ServiceOverrides,
  type Services,
} from "../../app/services.server";
import { MemoryStore } from "../../app/store/memory.server";
import type { Store } from "../../app/store/types";
import { MemoryUserStore } from "../../app/store/users/memory.server";
import type { UserStore } from "../../app/store/users/types";
import { createTestClock, type TestClock } from "./clock";
import { readEmail, type ReadEmail } from "./mail";

export { createTestClock, type TestClock } from "./clock";
export { createTestAdapter, type TestAdapter, type TestDelivery } from "./test-adapter";
export { readEmail, type ReadEmail } from "./mail";

/** The origin every test request uses (and the test app's APP_ORIGIN). */
export const TEST_ORIGIN = "http://localhost:5173";

/** A 32+ character secret for tests; never use it anywhere else. */
export const TEST_SECRET = "test-secret-0123456789abcdef0123456789abcdef";

/** Who `signedInRequest` signs in when a test names nobody. */
export const TEST_EMAIL = "person@example.com";

/** A session's subject for tests that drive the session manager alone (no user record). */
export const TEST_USER = { id: "usr_test", adapter: "test" } as const;

export interface TestAppOptions {
  /** Environment variables on top of the test defaults (parsed by the real config module). */
  env?: Record<string, string | undefined>;
  adapter?: ServiceOverrides["adapter"];
  /** Abuse limits; none by default so tests can sign in as often as they like. */
  limits?: ServiceOverrides["limits"];
  mailer?: Mailer;
  /** Mail queue timings (short deadlines and backoff keep the delivery tests fast). */
  mailQueue?: ServiceOverrides["mailQueue"];
  store?: Store;
  /** The users store; a fresh in-memory one by default. */
  userStore?: UserStore;
  clock?: TestClock;
}

export interface TestApp {
  services: Services;
  config: Config;
  clock: TestClock;
  store: Store;
  /** The users store the app signs people into. */
  userStore: UserStore;
  /** The dev outbox (unless another mailer was given). */
  outbox: Outbox;
  /** Every structured auth log line, in order. */
  events: AuthEvent[];
  /** Every mail delivery attempt's log line, in order. */
  mailEvents: MailEvent[];
  /** The newest email to `address`; fails the test when there is none. */
  lastEmailTo(address: string): ReadEmail;
  close(): Promise<void>;
}

/**
 * Build the app's services with a test clock, an in-memory store and the outbox, and
 * install them for the route modules. Call `close()` after each test.
 */
/** The clock of the installed test app: what cookie jars age their cookies by. */
let installedClock: TestClock | undefined;

export function createTestApp(options: TestAppOptions = {}): TestApp {
  const config = parseConfig({
    NODE_ENV: "test",
    APP_ORIGIN: TEST_ORIGIN,
    SESSION_SECRETS: TEST_SECRET,
    MAIL_TRANSPORT: "outbox",
    ...options.env,
  });
  const clock = options.clock ?? createTestClock();
  const store = options.store ?? new MemoryStore({ clock, sweepIntervalMs: 0 });
  const userStore = options.userStore ?? new MemoryUserStore({ clock });
  const outbox = options.mailer instanceof Outbox ? options.mailer : new Outbox({ limit: 200 });
  const events: AuthEvent[] = [];
  const log: Logger = (event) => events.push(event);
  const mailEvents: MailEvent[] = [];
  const services = createServices(config, {
    clock,
    store,
    userStore,
    mailer: options.mailer ?? outbox,
    mailQueue: { log: (event) => mailEvents.push(event), ...options.mailQueue },
    adapter: options.adapter,
    limits: options.limits ?? null,
    log,
  });
  setServices(services);
  installedClock = clock;
  return {
    services,
    config,
    clock,
    store,
    userStore,
    outbox,
    events,
    mailEvents,
    lastEmailTo(address) {
      const message = outbox.latestTo(address);
      if (!message) throw new Error(`No email to ${address} in the outbox`);
      return readEmail(message);
    },
    async close() {
      setServices(undefined);
      if (installedClock === clock) installedClock = undefined;
      await services.close();
    },
  };
}

export interface RequestOptions {
  /** A Cookie header value, or a jar to read it from. */
  cookie?: string | CookieJar;
  headers?: HeadersInit;
  /** The Origin header on POSTs; TEST_ORIGIN unless given (null: none). */
  origin?: string | null;
}

function buildHeaders(options: RequestOptions, post: boolean): Headers {
  const headers = new Headers(options.headers);
  const cookie = options.cookie instanceof CookieJar ? options.cookie.header() : options.cookie;
  if (cookie) headers.set("Cookie", cookie);
  if (post && options.origin !== null && !headers.has("Origin"))
    headers.set("Origin", options.origin ?? TEST_ORIGIN);
  return headers;
}

function absolute(path: string): string {
  return new URL(path, TEST_ORIGIN).toString();
}

/** A GET request, as a browser would send it. */
export function getRequest(path: string, options: RequestOptions = {}): Request {
  return new Request(absolute(path), { headers: buildHeaders(options, false) });
}

/** A form POST (application/x-www-form-urlencoded), as a browser would send it. */
export function postForm(
  path: string,
  fields: Record<string, string>,
  options: RequestOptions = {},
): Request {
  const headers = buildHeaders(options, true);
  headers.set("Content-Type", "application/x-www-form-urlencoded");
  return new Request(absolute(path), {
    method: "POST",
    headers,
    body: new URLSearchParams(fields).toString(),
  });
}

/** A user for a test: any part of the record; the rest is filled in. */
export interface TestUserInput {
  /** Normalised like a real sign-in's; `person@example.com` by default. */
  email?: string;
  firstName?: string | null;
  lastName?: string | null;
  /** Your own fields (UserFields in app/auth/users.server.ts). */
  fields?: UserFields;
  /** The sign-in method the user has: `{ method: "test", subject: <email> }` by default. */
  identity?: { method: string; subject: string };
}

/**
 * Create a real user record, with one identity, in the installed app's users store: what a
 * first sign-in would have made. Needs a test app (createTestApp).
 *
 * @example
 * const ada = await createTestUser({ email: "ada@example.com", fields: { displayName: "Ada" } });
 */
export async function createTestUser(input: TestUserInput = {}): Promise<User> {
  const { users, clock } = getServices();
  const email = input.email ?? TEST_EMAIL;
  const now = clock();
  const { user } = await users.store.create(
    {
      email,
      emailVerifiedAt: now,
      firstName: input.firstName ?? null,
      lastName: input.lastName ?? null,
      fields: { ...input.fields } as Record<string, string | number | boolean | null>,
    },
    input.identity ?? { method: "test", subject: email },
  );
  return user as User;
}

/** The user record for `user`: that very record, the one with its address, or a new one. */
async function resolveTestUser(user: User | TestUserInput = {}): Promise<User> {
  const users = getServices().users;
  if ("id" in user && typeof user.id === "string") {
    const found = await users.get(user.id);
    if (!found) throw new Error(`signedInRequest: no user ${user.id} in the app's users store`);
    return found;
  }
  const existing = await users.store.getByEmail(user.email ?? TEST_EMAIL);
  return (existing as User | null) ?? createTestUser(user);
}

/**
 * A request with a valid session cookie for a real user record, made by the real session
 * code of the installed app (same secrets, same expiry rules). `user` is a record from
 * {@link createTestUser}, or what to create one from (an existing address is reused).
 * Needs a test app (createTestApp).
 */
export async function signedInRequest(
  url: string,
  { user, init }: { user?: User | TestUserInput; init?: RequestInit } = {},
): Promise<Request> {
  const headers = new Headers(init?.headers);
  const existing = headers.get("Cookie");
  const pair = await sessionCookieFor(user);
  headers.set("Cookie", existing ? `${existing}; ${pair}` : pair);
  if (init?.method && init.method !== "GET" && !headers.has("Origin"))
    headers.set("Origin", TEST_ORIGIN);
  return new Request(absolute(url), { ...init, headers });
}

/** The Cookie header pair (`name=value`) of a fresh session for `user`, from the real session code. */
export async function sessionCookieFor(user: User | TestUserInput = {}): Promise<string> {
  const record = await resolveTestUser(user);
  const { setCookie } = await getServices().sessions.create({ id: record.id, adapter: "test" });
  return setCookie.split(";")[0] ?? "";
}

/** A request with no cookies at all. */
export function signedOutRequest(url: string, init?: RequestInit): Request {
  return new Request(absolute(url), init);
}

/** What a loader or action answered, whether it returned or threw. */
export interface RouteResult {
  status: number;
  headers: Headers;
  /** `Location`, for redirects. */
  location: string | null;
  /** The JSON data a page would get (undefined for redirects and non-JSON bodies). */
  data: unknown;
  response: Response;
}

/** Any route module's `loader` or `action`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- route args are typed per module
type Handler = (args: any) => unknown;

/**
 * Call a route module's loader or action with a real Request, inside the app's root
 * middleware (origin check, session rolling, no-store), and normalise what comes back.
 */
export async function callRoute(
  handler: Handler | undefined,
  request: Request,
  params: Record<string, string> = {},
): Promise<RouteResult> {
  if (!handler) throw new Error("callRoute: the route module has no such export");
  const context = new RouterContextProvider();
  // As React Router 8 does: the raw request, and `url` normalised (no `.data`, no `_routes`).
  const url = pageUrl(request);
  const response = (await authMiddleware(
    { request, params, context, unstable_pattern: "", url } as never,
    async () => {
      try {
        return toResponse(await handler({ request, params, context, url }));
      } catch (thrown) {
        if (thrown instanceof Response) return thrown;
        if (isDataWithInit(thrown)) return toResponse(thrown);
        throw thrown;
      }
    },
  )) as Response;
  let data: unknown;
  if ((response.headers.get("Content-Type") ?? "").includes("json"))
    data = await response.clone().json();
  return {
    status: response.status,
    headers: response.headers,
    location: response.headers.get("Location"),
    data,
    response,
  };
}

function isDataWithInit(value: unknown): value is { data: unknown; init: ResponseInit | null } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { type?: string }).type === "DataWithResponseInit"
  );
}

function toResponse(value: unknown): Response {
  if (value instanceof Response) return value;
  if (isDataWithInit(value)) {
    const headers = new Headers(value.init?.headers);
    headers.set("Content-Type", "application/json");
    return new Response(JSON.stringify(value.data ?? null), {
      status: value.init?.status ?? 200,
      headers,
    });
  }
  return Response.json(value ?? null);
}

/** Asserts that a result is a redirect to sign-in that brings the person back to `returnTo`. */
export function expectRedirectToLogin(result: RouteResult, returnTo: string): void {
  expect([302, 303]).toContain(result.status);
  expect(result.location).toBe(`/login?returnTo=${encodeURIComponent(returnTo)}`);
}

/** One cookie in a jar: its value and, when it has one, the moment it expires (ms). */
interface JarCookie {
  value: string;
  expiresAt?: number;
}

/**
 * Keeps cookies across requests, as a browser would: `Max-Age` (which wins over `Expires`,
 * RFC 6265 §5.3) and `Expires` set a deadline, and a cookie past it is neither sent nor
 * returned. Time is the installed test app's clock (so `app.clock.advance` ages cookies as
 * it ages the server's records), or the `clock` given, or the real time without an app.
 */
export class CookieJar {
  readonly #cookies = new Map<string, JarCookie>();
  readonly #clock: () => number;

  constructor(options: { clock?: () => number } = {}) {
    const given = options.clock;
    this.#clock = given ?? (() => (installedClock ?? Date.now)());
  }

  /** Take the Set-Cookie headers of a response (or a RouteResult). */
  store(from: Response | RouteResult | Headers): this {
    const headers =
      from instanceof Headers ? from : from instanceof Response ? from.headers : from.headers;
    const now = this.#clock();
    for (const line of headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expiresAt = cookieDeadline(attributes, now);
      // A deadline already passed is how a server deletes a cookie.
      if (expiresAt !== undefined && expiresAt <= now) this.#cookies.delete(name);
      else this.#cookies.set(name, { value, expiresAt });
    }
    return this;
  }

  /** The cookie's value, unless it is absent or has expired. */
  get(name: string): string | undefined {
    return this.#live().get(name);
  }

  has(name: string): boolean {
    return this.#live().has(name);
  }

  /** When the cookie expires (ms on the jar's clock); undefined for a session cookie. */
  expiresAt(name: string): number | undefined {
    return this.#cookies.get(name)?.expiresAt;
  }

  /** Put a cookie in by hand (no expiry: it lives as long as the jar). */
  set(name: string, value: string): void {
    this.#cookies.set(name, { value });
  }

  delete(name: string): void {
    this.#cookies.delete(name);
  }

  /** The Cookie header a browser would send now: live cookies only. */
  header(): string {
    return [...this.#live()].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  clone(): CookieJar {
    const copy = new CookieJar({ clock: this.#clock });
    for (const [name, cookie] of this.#cookies) copy.#cookies.set(name, { ...cookie });
    return copy;
  }

  /**
   * Live cookies (name → value). Expired ones are skipped, not forgotten, so a test that
   * sets its clock back sees them again.
   */
  #live(): Map<string, string> {
    const now = this.#clock();
    const live = new Map<string, string>();
    for (const [name, cookie] of this.#cookies) {
      if (cookie.expiresAt === undefined || cookie.expiresAt > now) live.set(name, cookie.value);
    }
    return live;
  }
}

/**
 * A Set-Cookie line's deadline from its attributes (RFC 6265 §5.2.1–5.2.2): `Max-Age`
 * (seconds from now; zero or less: already expired) wins over `Expires` (a date); neither
 * (or only unreadable ones): undefined, a session cookie.
 */
function cookieDeadline(attributes: string[], now: number): number | undefined {
  let expires: number | undefined;
  let maxAge: number | undefined;
  for (const attribute of attributes) {
    const eq = attribute.indexOf("=");
    const key = (eq < 0 ? attribute : attribute.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? "" : attribute.slice(eq + 1).trim();
    if (key === "max-age" && /^-?\d+$/.test(value)) {
      const seconds = Number(value);
      maxAge = seconds <= 0 ? -Infinity : now + seconds * 1000;
    } else if (key === "expires") {
      const at = Date.parse(value);
      if (!Number.isNaN(at)) expires = at;
    }
  }
  return maxAge ?? expires;
}

/** A route module as the kit needs it: a component and optionally a loader and an action. */
export interface RouteModuleLike {
  default: ComponentType<never>;
  loader?: Handler;
  action?: Handler;
}

export interface RenderRouteOptions {
  /** The URL to open, e.g. "/dashboard?tab=2". */
  url: string;
  /** The route's path pattern; the URL's path by default. */
  path?: string;
  /** Who is signed in (a user record, or what to create one from); signed out when absent or null. */
  user?: User | TestUserInput | null;
}

/**
 * Render a real route module through `createRoutesStub` with its real loader and action,
 * as a signed-in or signed-out person: the component sees exactly what the loader gives.
 * A redirect to sign-in lands on a stub /login page showing "Sign-in page".
 * Needs a test app (createTestApp) and a DOM (`// @vitest-environment jsdom`).
 */
/**
 * Under jsdom, vitest replaces the global Request with a subclass whose copy constructor
 * (`new Request(url, request)`, as remix-auth uses) drops the body. While a route handler
 * runs, the platform's own Request is put back, so the real strategy reads the real form.
 */
async function withNativeRequest<T>(run: () => T): Promise<Awaited<T>> {
  const current = globalThis.Request;
  const parent = Object.getPrototypeOf(current) as typeof Request | null;
  const native = parent && parent.name !== "" && parent !== Function.prototype ? parent : current;
  globalThis.Request = native;
  try {
    return await run();
  } finally {
    globalThis.Request = current;
  }
}

export async function renderRoute(module: RouteModuleLike, options: RenderRouteOptions) {
  const { render } = await import("@testing-library/react");
  const cookie = options.user ? await sessionCookieFor(options.user) : undefined;
  const asPerson = (request: Request) => {
    const headers = new Headers(request.headers);
    if (cookie) headers.set("Cookie", cookie);
    if (request.method !== "GET" && request.method !== "HEAD") headers.set("Origin", TEST_ORIGIN);
    return new Request(request, { headers });
  };
  const wrap = (handler: Handler | undefined) =>
    handler
      ? (args: {
          request: Request;
          params: Record<string, string | undefined>;
          context: unknown;
        }) => withNativeRequest(() => handler({ ...args, request: asPerson(args.request) }))
      : undefined;
  const path = options.path ?? new URL(options.url, TEST_ORIGIN).pathname;
  const Stub = createRoutesStub([
    {
      path,
      Component: module.default as ComponentType,
      loader: wrap(module.loader) as never,
      action: wrap(module.action) as never,
      HydrateFallback: () => null,
    },
    {
      path: "/login",
      Component: () => createElement("p", null, "Sign-in page"),
      HydrateFallback: () => null,
    },
  ]);
  return render(createElement(Stub, { initialEntries: [options.url] }));
}

export type { AuthAdapter, FirstSignIn, FirstSignInDecision, Identity, User, UserFields };
