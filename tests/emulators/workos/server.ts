/**
 * A WorkOS API emulator: a real HTTP server on 127.0.0.1 that the real `@workos-inc/node`
 * SDK talks to. It covers what the starter uses (passwordless sessions and their link,
 * `/sso/token`, Magic Auth create and authenticate), with WorkOS's status codes and error
 * bodies (as the @workos-inc/node SDK reads them), and lets a test make the next
 * answer fail, be slow, or be rate limited.
 *
 * Time is the emulator's own: `advance(ms)` moves it forward, so expiry is tested without
 * sleeping. Emails "sent by WorkOS" are recorded, never sent; `lastEmailTo` reads them back.
 */
import { randomBytes, randomInt } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface WorkosEmulatorOptions {
  /** The only API key (and `client_secret`) accepted. */
  apiKey?: string;
  clientId?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Called with each email the emulator "sends" (the CLI prints them). */
  onEmail?: (email: SentEmail) => void;
  /** Wrong Magic Auth codes before the code dies. */
  maxCodeAttempts?: number;
}

/** An email WorkOS would have sent. */
export interface SentEmail {
  to: string;
  kind: "magic_link" | "magic_auth";
  link?: string;
  code?: string;
  /** Emulator time (ms since the epoch). */
  sentAt: number;
}

/** How the next matching request(s) go wrong. */
export interface FailureSpec {
  /** Answer with this status (with `body`, JSON unless a string). */
  status?: number;
  /** The error body; a string is sent as text/plain (the SDK then throws a ParseError). */
  body?: unknown;
  /** Seconds, sent as `Retry-After` (with status 429 by default). */
  retryAfter?: number;
  /** Wait this long before answering (the answer is the normal one unless `status` is set). */
  delayMs?: number;
  /** Close the connection without an answer (a network error). */
  drop?: boolean;
  /** How many matching requests this applies to (default 1; `Infinity` for "down"). */
  times?: number;
}

export interface WorkosEmulator {
  /** Base URL, e.g. http://127.0.0.1:54321 (what `WORKOS_API_URL` should be). */
  readonly url: string;
  readonly port: number;
  readonly apiKey: string;
  readonly clientId: string;
  /** `WORKOS_API_URL`, `WORKOS_API_KEY`, `WORKOS_CLIENT_ID` for this emulator. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * Make the next request(s) to `path` fail. `path` is a request path such as
   * "/passwordless/sessions" or a pattern with `:params` ("/passwordless/sessions/:id/send"),
   * or "*" for every path.
   */
  failNext(path: string, spec: FailureSpec): void;
  /** Move the emulator's clock forward. */
  advance(ms: number): void;
  /** Emulator time, ms since the epoch. */
  now(): number;
  /** Every email sent since the last reset, oldest first. */
  sentEmails(): readonly SentEmail[];
  /** The newest email to `email`, if any. */
  lastEmailTo(email: string): SentEmail | undefined;
  /** Requests received since the last reset (method and path), oldest first. */
  requests(): readonly { method: string; path: string }[];
  /** Forget sessions, codes, users, emails, failures and clock offset. */
  reset(): void;
  close(): Promise<void>;
}

interface PasswordlessSession {
  id: string;
  token: string;
  email: string;
  redirectUri: string;
  state?: string;
  expiresAt: number;
  visited: boolean;
}

interface AuthorizationCode {
  email: string;
  expiresAt: number;
  used: boolean;
}

interface MagicAuthRecord {
  id: string;
  userId: string;
  email: string;
  code: string;
  expiresAt: number;
  createdAt: number;
  attempts: number;
  used: boolean;
}

interface Failure extends FailureSpec {
  match: (path: string) => boolean;
  left: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

/** WorkOS's documented lifetimes. */
const CODE_TTL_MS = 10 * 60_000;
const DEFAULT_SESSION_TTL_S = 900;
/** WorkOS's documented Magic Auth rate limits, per email. */
const AUTHENTICATE_LIMIT = { max: 10, windowMs: 60_000 };
const SEND_LIMIT = { max: 3, windowMs: 60_000 };
const MAX_BODY = 64 * 1024;

const id = (prefix: string) => `${prefix}_${randomBytes(13).toString("hex").toUpperCase()}`;

function pathMatcher(pattern: string): (path: string) => boolean {
  if (pattern === "*") return () => true;
  const source = pattern
    .split("/")
    .map((part) => (part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  const regex = new RegExp(`^${source}$`);
  return (path) => regex.test(path);
}

/** Start an emulator; `await emulator.close()` when done. */
export async function startWorkosEmulator(
  options: WorkosEmulatorOptions = {},
): Promise<WorkosEmulator> {
  const apiKey = options.apiKey ?? "sk_test_emulator";
  const clientId = options.clientId ?? "client_emulator";
  const host = options.host ?? "127.0.0.1";
  const maxCodeAttempts = options.maxCodeAttempts ?? 5;

  let offset = 0;
  let sessions = new Map<string, PasswordlessSession>();
  let sessionsByToken = new Map<string, PasswordlessSession>();
  let codes = new Map<string, AuthorizationCode>();
  /** The newest Magic Auth per email: a new one supersedes the older. */
  let magicAuths = new Map<string, MagicAuthRecord>();
  /** Stable ids per email, like WorkOS's users and Magic Link profiles. */
  let users = new Map<string, { userId: string; profileId: string; createdAt: number }>();
  let emails: SentEmail[] = [];
  let failures: Failure[] = [];
  let requestLog: { method: string; path: string }[] = [];
  let limits = new Map<string, { count: number; resetAt: number }>();

  const now = () => Date.now() + offset;
  const iso = (ms: number) => new Date(ms).toISOString();

  let baseUrl = "";

  function userFor(email: string) {
    let user = users.get(email);
    if (!user) {
      user = { userId: id("user"), profileId: id("prof"), createdAt: now() };
      users.set(email, user);
    }
    return user;
  }

  function record(email: SentEmail): void {
    emails.push(email);
    options.onEmail?.(email);
  }

  function limit(key: string, rule: { max: number; windowMs: number }): void {
    const current = limits.get(key);
    if (!current || current.resetAt <= now()) {
      limits.set(key, { count: 1, resetAt: now() + rule.windowMs });
      return;
    }
    current.count += 1;
    if (current.count > rule.max) {
      const retryAfter = Math.max(1, Math.ceil((current.resetAt - now()) / 1000));
      throw new HttpError(
        429,
        { message: "Rate limit exceeded." },
        { "Retry-After": String(retryAfter) },
      );
    }
  }

  function requireBearer(req: IncomingMessage): void {
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      throw new HttpError(401, { message: "Unauthorized" });
    }
  }

  function requireClient(body: Record<string, unknown>, oauth: boolean): void {
    if (body.client_secret !== apiKey) {
      throw new HttpError(
        401,
        oauth
          ? { error: "invalid_client", error_description: "Invalid client secret." }
          : { message: "Unauthorized" },
      );
    }
    if (body.client_id !== clientId) {
      throw new HttpError(
        400,
        oauth
          ? { error: "invalid_client", error_description: "Invalid client ID." }
          : { code: "invalid_client", message: "Invalid client ID." },
      );
    }
  }

  const str = (value: unknown) => (typeof value === "string" ? value : undefined);

  function createSession(body: Record<string, unknown>): unknown {
    const email = str(body.email);
    if (body.type !== "MagicLink") {
      throw new HttpError(422, {
        code: "invalid_request_parameters",
        message: "type must be MagicLink",
        errors: [{ code: "type_invalid", field: "type" }],
      });
    }
    if (!email || !/^[^\s@]+@[^\s@]+$/.test(email)) {
      throw new HttpError(422, {
        code: "invalid_request_parameters",
        message: "email is invalid",
        errors: [{ code: "email_invalid", field: "email" }],
      });
    }
    const redirectUri = str(body.redirect_uri);
    if (!redirectUri) {
      throw new HttpError(422, {
        code: "invalid_request_parameters",
        message: "redirect_uri is required",
        errors: [{ code: "redirect_uri_required", field: "redirect_uri" }],
      });
    }
    const expiresIn =
      body.expires_in === undefined ? DEFAULT_SESSION_TTL_S : Number(body.expires_in);
    if (!Number.isInteger(expiresIn) || expiresIn < 900 || expiresIn > 86_400) {
      throw new HttpError(422, {
        code: "invalid_request_parameters",
        message: "expires_in must be between 900 and 86400",
        errors: [{ code: "expires_in_invalid", field: "expires_in" }],
      });
    }
    const session: PasswordlessSession = {
      id: id("passwordless_session"),
      token: randomBytes(24).toString("base64url"),
      email,
      redirectUri,
      state: str(body.state),
      expiresAt: now() + expiresIn * 1000,
      visited: false,
    };
    sessions.set(session.id, session);
    sessionsByToken.set(session.token, session);
    return {
      object: "passwordless_session",
      id: session.id,
      email,
      expires_at: iso(session.expiresAt),
      link: linkFor(session),
    };
  }

  const linkFor = (session: PasswordlessSession) =>
    `${baseUrl}/passwordless/${session.token}/confirm`;

  function sendSession(sessionId: string): unknown {
    const session = sessions.get(sessionId);
    if (!session) throw new HttpError(404, { message: "Passwordless session not found." });
    record({ to: session.email, kind: "magic_link", link: linkFor(session), sentAt: now() });
    return { success: true };
  }

  /** The link visit: the first GET consumes the session, as WorkOS's does (scanners too). */
  function visitLink(token: string): { status: number; location?: string } {
    const session = sessionsByToken.get(token);
    if (!session) return { status: 404 };
    const target = new URL(session.redirectUri);
    if (session.visited || session.expiresAt <= now()) {
      target.searchParams.set("error", "access_denied");
      target.searchParams.set(
        "error_description",
        session.visited ? "The link has already been used." : "The link has expired.",
      );
    } else {
      session.visited = true;
      const code = randomBytes(20).toString("base64url");
      codes.set(code, { email: session.email, expiresAt: now() + CODE_TTL_MS, used: false });
      target.searchParams.set("code", code);
    }
    if (session.state !== undefined) target.searchParams.set("state", session.state);
    return { status: 302, location: target.toString() };
  }

  function token(body: Record<string, unknown>): unknown {
    requireClient(body, true);
    if (body.grant_type !== "authorization_code") {
      throw new HttpError(400, {
        error: "unsupported_grant_type",
        error_description: "Unsupported grant type.",
      });
    }
    const code = str(body.code) ?? "";
    const entry = codes.get(code);
    // WorkOS answers invalid_grant for every bad code; the description says why.
    if (!entry)
      throw new HttpError(400, {
        error: "invalid_grant",
        error_description: "The code is invalid.",
      });
    if (entry.used)
      throw new HttpError(400, {
        error: "invalid_grant",
        error_description: "The code has already been used.",
      });
    if (entry.expiresAt <= now())
      throw new HttpError(400, {
        error: "invalid_grant",
        error_description: "The code has expired.",
      });
    entry.used = true;
    const user = userFor(entry.email);
    return {
      access_token: randomBytes(24).toString("base64url"),
      profile: {
        object: "profile",
        id: user.profileId,
        idp_id: user.profileId,
        connection_id: "conn_MAGICLINK",
        connection_type: "MagicLink",
        email: entry.email,
        first_name: null,
        last_name: null,
        raw_attributes: {},
      },
    };
  }

  function createMagicAuth(body: Record<string, unknown>): unknown {
    const email = str(body.email);
    if (!email || !/^[^\s@]+@[^\s@]+$/.test(email)) {
      throw new HttpError(422, {
        code: "invalid_request_parameters",
        message: "email is invalid",
        errors: [{ code: "email_invalid", field: "email" }],
      });
    }
    limit(`send:${email}`, SEND_LIMIT);
    const user = userFor(email);
    const record_: MagicAuthRecord = {
      id: id("magic_auth"),
      userId: user.userId,
      email,
      code: randomInt(0, 1_000_000).toString().padStart(6, "0"),
      expiresAt: now() + CODE_TTL_MS,
      createdAt: now(),
      attempts: 0,
      used: false,
    };
    magicAuths.set(email, record_);
    record({ to: email, kind: "magic_auth", code: record_.code, sentAt: now() });
    return {
      object: "magic_auth",
      id: record_.id,
      user_id: record_.userId,
      email,
      code: record_.code,
      expires_at: iso(record_.expiresAt),
      created_at: iso(record_.createdAt),
      updated_at: iso(record_.createdAt),
    };
  }

  const oneTimeCodeError = (code: string, message: string) => new HttpError(400, { code, message });

  function authenticate(body: Record<string, unknown>): unknown {
    requireClient(body, false);
    if (body.grant_type !== "urn:workos:oauth:grant-type:magic-auth:code") {
      throw new HttpError(400, {
        error: "unsupported_grant_type",
        error_description: "Unsupported grant type.",
      });
    }
    const email = str(body.email) ?? "";
    const code = str(body.code) ?? "";
    limit(`authenticate:${email}`, AUTHENTICATE_LIMIT);
    const pending = magicAuths.get(email);
    if (!pending) throw oneTimeCodeError("invalid_one_time_code", "The code is invalid.");
    if (pending.used && pending.code === code) {
      throw oneTimeCodeError("one_time_code_previously_used", "The code has already been used.");
    }
    if (pending.attempts >= maxCodeAttempts) {
      throw oneTimeCodeError("one_time_code_too_many_attempts", "Too many attempts.");
    }
    if (pending.used || pending.code !== code) {
      pending.attempts += 1;
      throw oneTimeCodeError("invalid_one_time_code", "The code is invalid.");
    }
    if (pending.expiresAt <= now())
      throw oneTimeCodeError("one_time_code_expired", "The code has expired.");
    pending.used = true;
    const user = userFor(email);
    return {
      user: {
        object: "user",
        id: user.userId,
        email,
        email_verified: true,
        first_name: null,
        last_name: null,
        profile_picture_url: null,
        last_sign_in_at: iso(now()),
        created_at: iso(user.createdAt),
        updated_at: iso(now()),
        external_id: null,
        metadata: {},
      },
      access_token: randomBytes(24).toString("base64url"),
      refresh_token: randomBytes(24).toString("base64url"),
      authentication_method: "MagicAuth",
    };
  }

  async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) throw new HttpError(413, { message: "Request body too large." });
      chunks.push(chunk as Buffer);
    }
    const raw = Buffer.concat(chunks).toString("utf8");
    const type = req.headers["content-type"] ?? "";
    if (type.startsWith("application/x-www-form-urlencoded")) {
      return Object.fromEntries(new URLSearchParams(raw));
    }
    if (!raw) return {};
    try {
      const parsed: unknown = JSON.parse(raw);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed))
        return parsed as Record<string, unknown>;
    } catch {
      // fall through
    }
    throw new HttpError(400, { message: "Malformed JSON body." });
  }

  function send(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (res.headersSent || res.destroyed) return;
    const requestId = id("req");
    if (typeof body === "string") {
      res.writeHead(status, {
        "Content-Type": "text/plain; charset=utf-8",
        "X-Request-ID": requestId,
        ...headers,
      });
      res.end(body);
      return;
    }
    res.writeHead(status, {
      "Content-Type": "application/json; charset=utf-8",
      "X-Request-ID": requestId,
      ...headers,
    });
    res.end(body === undefined ? "" : JSON.stringify(body));
  }

  function takeFailure(path: string): Failure | undefined {
    const failure = failures.find((f) => f.left > 0 && f.match(path));
    if (failure) failure.left -= 1;
    failures = failures.filter((f) => f.left > 0);
    return failure;
  }

  let closed = false;
  const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://emulator");
    const path = url.pathname;
    const method = req.method ?? "GET";
    requestLog.push({ method, path });

    const failure = takeFailure(path);
    if (failure?.delayMs) {
      await delay(failure.delayMs);
      if (closed || res.destroyed) return;
    }
    if (failure?.drop) {
      req.socket.destroy();
      return;
    }
    if (failure && (failure.status !== undefined || failure.retryAfter !== undefined)) {
      const status = failure.status ?? 429;
      const headers: Record<string, string> = {};
      if (failure.retryAfter !== undefined) headers["Retry-After"] = String(failure.retryAfter);
      const body =
        failure.body ??
        (status === 429
          ? { message: "Rate limit exceeded." }
          : status === 401
            ? { message: "Unauthorized" }
            : { message: "Internal Server Error" });
      send(res, status, body, headers);
      return;
    }

    const confirm = /^\/passwordless\/([^/]+)\/confirm$/.exec(path);
    if (confirm && method === "GET") {
      const visit = visitLink(decodeURIComponent(confirm[1] ?? ""));
      if (visit.status === 404) {
        send(res, 404, "Link not found.");
        return;
      }
      res.writeHead(302, { Location: visit.location ?? "", "Cache-Control": "no-store" });
      res.end();
      return;
    }

    if (method !== "POST") throw new HttpError(404, { message: "Not found." });
    if (path === "/sso/token") {
      send(res, 200, token(await readBody(req)));
      return;
    }
    if (path === "/user_management/authenticate") {
      send(res, 200, authenticate(await readBody(req)));
      return;
    }
    requireBearer(req);
    const body = await readBody(req);
    if (path === "/passwordless/sessions") {
      send(res, 201, createSession(body));
      return;
    }
    const sendMatch = /^\/passwordless\/sessions\/([^/]+)\/send$/.exec(path);
    if (sendMatch) {
      send(res, 200, sendSession(decodeURIComponent(sendMatch[1] ?? "")));
      return;
    }
    if (path === "/user_management/magic_auth") {
      send(res, 201, createMagicAuth(body));
      return;
    }
    throw new HttpError(404, { message: "Not found." });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) send(res, error.status, error.body, error.headers);
      else send(res, 500, { message: "Internal Server Error" });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  const emulator: WorkosEmulator = {
    url: baseUrl,
    port,
    apiKey,
    clientId,
    env: { WORKOS_API_URL: baseUrl, WORKOS_API_KEY: apiKey, WORKOS_CLIENT_ID: clientId },
    failNext(path, spec) {
      failures.push({ ...spec, match: pathMatcher(path), left: spec.times ?? 1 });
    },
    advance(ms) {
      offset += ms;
    },
    now,
    sentEmails: () => emails,
    lastEmailTo(email) {
      const wanted = email.toLowerCase();
      for (let i = emails.length - 1; i >= 0; i--) {
        if (emails[i]?.to.toLowerCase() === wanted) return emails[i];
      }
      return undefined;
    },
    requests: () => requestLog,
    reset() {
      offset = 0;
      sessions = new Map();
      sessionsByToken = new Map();
      codes = new Map();
      magicAuths = new Map();
      users = new Map();
      emails = [];
      failures = [];
      requestLog = [];
      limits = new Map();
    },
    async close() {
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return emulator;
}
