/**
 * A WorkOS API emulator: a real HTTP server on 127.0.0.1 that the real `@workos-inc/node`
 * SDK talks to. It covers what the starter uses, with WorkOS's status codes and error
 * bodies (as the @workos-inc/node SDK reads them), and lets a test make the next
 * answer fail, be slow, or be rate limited:
 *
 * - passwordless sessions and their link, `/sso/token` (Magic Link);
 * - Magic Auth create and authenticate;
 * - enterprise SSO: organizations with domains and an SSO connection (seeded), the
 *   organization lookup by domain, connections by organization, the AuthKit authorization
 *   URL (which "signs in at the IdP" at once and redirects back with a code) and the
 *   `authorization_code` exchange;
 * - User Management sessions: every successful authentication creates one, named by the
 *   `sid` claim of the access token (a JWT); list and revoke;
 * - MFA: an environment that requires it answers `mfa_enrollment` or `mfa_challenge` with
 *   a pending authentication token; TOTP enrollment (secret, otpauth URI, QR image),
 *   challenges, and the `mfa-totp` grant, checking codes by RFC 6238 against the
 *   emulator's clock, each time step once.
 *
 * Time is the emulator's own: `advance(ms)` moves it forward, so expiry is tested without
 * sleeping. Emails "sent by WorkOS" are recorded, never sent; `lastEmailTo` reads them back.
 */
import { createHmac, randomBytes, randomInt } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { newTotpSecret, verifyTotp } from "./totp";

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
  /** Organizations (with their domains and SSO connection) present from the start and after each reset. */
  organizations?: OrganizationSeed[];
  /** The environment's MFA setting: "required" makes every user enroll a TOTP factor. */
  mfa?: MfaMode;
}

/** "optional": only users with a factor are challenged; "required": everyone is. */
export type MfaMode = "optional" | "required";

/** An organization as a test seeds it. */
export interface OrganizationSeed {
  /** Defaults to a fresh `org_…` id. */
  id?: string;
  name?: string;
  /** Its verified domains, e.g. ["example.com"]. */
  domains: string[];
  /** Its SSO connection: "active" (default), "inactive", or none. */
  connection?: "active" | "inactive" | "none";
}

/** What the emulated IdP asserts for a `login_hint` (default: that address). */
export interface SsoProfileSeed {
  email?: string;
  firstName?: string;
  lastName?: string;
  /** The IdP refuses: the browser comes back with `?error=access_denied`. */
  deny?: boolean;
}

/** A User Management session, as the emulator holds it. */
export interface EmulatedSession {
  id: string;
  userId: string;
  email: string;
  status: "active" | "revoked";
  authMethod: "magic_code" | "sso";
  organizationId?: string;
  createdAt: number;
  endedAt?: number;
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
  /** Forget every pending failure: WorkOS is back. */
  clearFailures(): void;
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
  /** Add an organization; returns its id and its connection's id. */
  addOrganization(seed: OrganizationSeed): { id: string; connectionId?: string };
  /** What the IdP asserts the next times `loginHint` signs in through SSO. */
  setSsoProfile(loginHint: string, profile: SsoProfileSeed): void;
  /** Change the environment's MFA setting. */
  setMfa(mode: MfaMode): void;
  /** Enroll a verified TOTP factor for `email` (creating the user); returns its secret. */
  enrollTotp(email: string): { factorId: string; secret: string };
  /** Every User Management session created since the last reset, oldest first. */
  userSessions(email?: string): readonly EmulatedSession[];
  /** The WorkOS user id for `email`, if the user exists. */
  userId(email: string): string | undefined;
  /** Forget sessions, codes, users, organizations added since, emails, failures and clock offset. */
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

interface OrganizationRecord {
  id: string;
  name: string;
  domains: { id: string; domain: string; createdAt: number }[];
  connection?: { id: string; state: "active" | "inactive"; createdAt: number };
  createdAt: number;
}

interface SsoAuthorization {
  organizationId: string;
  connectionId: string;
  email: string;
  firstName?: string;
  lastName?: string;
  expiresAt: number;
  used: boolean;
}

interface FactorRecord {
  id: string;
  userId: string;
  secret: string;
  issuer: string;
  totpUser: string;
  createdAt: number;
  /** Set once a code for it was accepted (an enrollment is confirmed by its first code). */
  verified: boolean;
  /** The last time step accepted: a code works once (RFC 6238 §5.2). */
  lastStep?: number;
}

interface ChallengeRecord {
  id: string;
  factorId: string;
  createdAt: number;
  expiresAt: number;
  used: boolean;
}

interface PendingAuthentication {
  userId: string;
  authMethod: EmulatedSession["authMethod"];
  organizationId?: string;
  expiresAt: number;
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
/** Pending authentication tokens and challenges live ten minutes, like codes. */
const PENDING_TTL_MS = 10 * 60_000;
/** WorkOS access tokens live five minutes. */
const ACCESS_TOKEN_TTL_S = 300;
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

/**
 * The `qr_code` of an enrolled factor: an image data URL, as WorkOS's (a PNG there). The
 * emulator's is an SVG that carries the otpauth URI as its title; it is not a scannable
 * code, so people signing in offline use the secret shown beside it.
 */
function qrImage(uri: string): string {
  const escaped = uri.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="160" viewBox="0 0 160 160"><title>${escaped}</title><rect width="160" height="160" fill="#fff"/><rect x="10" y="10" width="40" height="40" fill="#000"/><rect x="110" y="10" width="40" height="40" fill="#000"/><rect x="10" y="110" width="40" height="40" fill="#000"/><text x="80" y="86" font-size="14" text-anchor="middle" font-family="monospace">emulator</text></svg>`;
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString("base64")}`;
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
  let users = new Map<
    string,
    { userId: string; profileId: string; createdAt: number; firstName?: string; lastName?: string }
  >();
  let emails: SentEmail[] = [];
  let failures: Failure[] = [];
  let requestLog: { method: string; path: string }[] = [];
  let limits = new Map<string, { count: number; resetAt: number }>();
  let organizations = new Map<string, OrganizationRecord>();
  let ssoCodes = new Map<string, SsoAuthorization>();
  let ssoProfiles = new Map<string, SsoProfileSeed>();
  let userSessions: EmulatedSession[] = [];
  let factors = new Map<string, FactorRecord>();
  let challenges = new Map<string, ChallengeRecord>();
  let pendingAuthentications = new Map<string, PendingAuthentication>();
  let mfaMode: MfaMode = options.mfa ?? "optional";

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

  const emailOf = (userId: string) =>
    [...users].find(([, user]) => user.userId === userId)?.[0] ?? "";

  function seedOrganization(seed: OrganizationSeed): { id: string; connectionId?: string } {
    const created = now();
    const org: OrganizationRecord = {
      id: seed.id ?? id("org"),
      name: seed.name ?? seed.domains[0] ?? "Organization",
      domains: seed.domains.map((domain) => ({
        id: id("org_domain"),
        domain: domain.toLowerCase(),
        createdAt: created,
      })),
      createdAt: created,
    };
    const connection = seed.connection ?? "active";
    if (connection !== "none")
      org.connection = { id: id("conn"), state: connection, createdAt: created };
    organizations.set(org.id, org);
    return { id: org.id, connectionId: org.connection?.id };
  }
  for (const seed of options.organizations ?? []) seedOrganization(seed);

  function formatOrganization(org: OrganizationRecord) {
    return {
      object: "organization",
      id: org.id,
      name: org.name,
      allow_profiles_outside_organization: false,
      domains: org.domains.map((d) => ({
        object: "organization_domain",
        id: d.id,
        domain: d.domain,
        organization_id: org.id,
        state: "verified",
        verification_strategy: "dns",
        created_at: iso(d.createdAt),
        updated_at: iso(d.createdAt),
      })),
      external_id: null,
      metadata: {},
      created_at: iso(org.createdAt),
      updated_at: iso(org.createdAt),
    };
  }

  const list = (data: unknown[]) => ({
    object: "list",
    data,
    list_metadata: { before: null, after: null },
  });

  /** GET /organizations?domains=a.com[,b.com]: the organizations with one of those domains. */
  function listOrganizations(query: URLSearchParams): unknown {
    const wanted = query
      .getAll("domains")
      .flatMap((value) => value.split(","))
      .map((domain) => domain.trim().toLowerCase())
      .filter(Boolean);
    const found = [...organizations.values()].filter(
      (org) => wanted.length === 0 || org.domains.some((d) => wanted.includes(d.domain)),
    );
    return list(found.map(formatOrganization));
  }

  /** GET /connections?organization_id=…: an organization's SSO connections. */
  function listConnections(query: URLSearchParams): unknown {
    const orgId = query.get("organization_id");
    const found = [...organizations.values()].filter(
      (org) => org.connection && (!orgId || org.id === orgId),
    );
    return list(
      found.map((org) => ({
        object: "connection",
        id: org.connection?.id,
        organization_id: org.id,
        name: `${org.name} SSO`,
        connection_type: "OktaSAML",
        state: org.connection?.state,
        domains: org.domains.map((d) => ({
          object: "connection_domain",
          id: d.id,
          domain: d.domain,
        })),
        created_at: iso(org.connection?.createdAt ?? org.createdAt),
        updated_at: iso(org.connection?.createdAt ?? org.createdAt),
      })),
    );
  }

  /**
   * GET /user_management/authorize: where `getAuthorizationUrl` sends the browser. The
   * emulated IdP signs the person in at once and redirects to `redirect_uri` with a code
   * and the `state`, or with `?error=` (IdP refused, no active connection).
   */
  function authorize(query: URLSearchParams): { status: number; location?: string; body?: string } {
    const redirectUri = query.get("redirect_uri");
    if (query.get("client_id") !== clientId) return { status: 400, body: "Invalid client_id." };
    if (!redirectUri || !URL.canParse(redirectUri))
      return { status: 400, body: "Invalid redirect_uri." };
    if (query.get("response_type") !== "code")
      return { status: 400, body: "response_type must be code." };
    const target = new URL(redirectUri);
    const state = query.get("state");
    const fail = (error: string, description: string) => {
      target.searchParams.set("error", error);
      target.searchParams.set("error_description", description);
      if (state !== null) target.searchParams.set("state", state);
      return { status: 302, location: target.toString() };
    };
    const org = organizations.get(query.get("organization_id") ?? "");
    if (!org) return fail("organization_invalid", "The organization could not be found.");
    if (org.connection?.state !== "active")
      return fail("connection_invalid", "The organization has no active SSO connection.");
    const loginHint = (query.get("login_hint") ?? "").toLowerCase();
    const seeded = ssoProfiles.get(loginHint) ?? {};
    if (seeded.deny) return fail("access_denied", "The identity provider denied the sign-in.");
    const email = (seeded.email ?? (loginHint || `person@${org.domains[0]?.domain}`)).toLowerCase();
    const code = id("sso_code");
    ssoCodes.set(code, {
      organizationId: org.id,
      connectionId: org.connection.id,
      email,
      firstName: seeded.firstName,
      lastName: seeded.lastName,
      expiresAt: now() + CODE_TTL_MS,
      used: false,
    });
    target.searchParams.set("code", code);
    if (state !== null) target.searchParams.set("state", state);
    return { status: 302, location: target.toString() };
  }

  /** A JWT-shaped access token carrying the session id as `sid`, as WorkOS's do. */
  function accessToken(session: EmulatedSession): string {
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const issuedAt = Math.floor(now() / 1000);
    const body = `${part({ alg: "HS256", typ: "JWT" })}.${part({
      iss: baseUrl,
      sub: session.userId,
      sid: session.id,
      ...(session.organizationId ? { org_id: session.organizationId } : {}),
      jti: id("jti"),
      iat: issuedAt,
      exp: issuedAt + ACCESS_TOKEN_TTL_S,
    })}`;
    return `${body}.${createHmac("sha256", apiKey).update(body).digest("base64url")}`;
  }

  function formatUser(email: string) {
    const user = userFor(email);
    return {
      object: "user",
      id: user.userId,
      email,
      email_verified: true,
      first_name: user.firstName ?? null,
      last_name: user.lastName ?? null,
      profile_picture_url: null,
      last_sign_in_at: iso(now()),
      created_at: iso(user.createdAt),
      updated_at: iso(now()),
      external_id: null,
      metadata: {},
    };
  }

  /**
   * The end of every successful authentication: the MFA gate, then a new session and its
   * tokens. With factors enrolled (or MFA required), the answer is a 403 with a pending
   * authentication token instead, as WorkOS's.
   */
  function signIn(
    email: string,
    authMethod: EmulatedSession["authMethod"],
    organizationId?: string,
    secondFactorDone = false,
  ): unknown {
    const user = userFor(email);
    const enrolled = [...factors.values()].filter((f) => f.userId === user.userId && f.verified);
    if (!secondFactorDone && (enrolled.length > 0 || mfaMode === "required")) {
      const token = randomBytes(18).toString("base64url");
      pendingAuthentications.set(token, {
        userId: user.userId,
        authMethod,
        organizationId,
        expiresAt: now() + PENDING_TTL_MS,
        used: false,
      });
      throw new HttpError(
        403,
        enrolled.length > 0
          ? {
              code: "mfa_challenge",
              message: "The user must complete an MFA challenge to finish authenticating.",
              pending_authentication_token: token,
              authentication_factors: enrolled.map((f) => ({ id: f.id, type: "totp" })),
              user: formatUser(email),
            }
          : {
              code: "mfa_enrollment",
              message: "The user must enroll in MFA to finish authenticating.",
              pending_authentication_token: token,
              user: formatUser(email),
            },
      );
    }
    const session: EmulatedSession = {
      id: id("session"),
      userId: user.userId,
      email,
      status: "active",
      authMethod,
      organizationId,
      createdAt: now(),
    };
    userSessions.push(session);
    return {
      user: formatUser(email),
      ...(organizationId ? { organization_id: organizationId } : {}),
      access_token: accessToken(session),
      refresh_token: randomBytes(24).toString("base64url"),
      authentication_method: authMethod === "sso" ? "SSO" : "MagicAuth",
    };
  }

  function formatSession(session: EmulatedSession) {
    return {
      object: "session",
      id: session.id,
      user_id: session.userId,
      ip_address: null,
      user_agent: null,
      ...(session.organizationId ? { organization_id: session.organizationId } : {}),
      auth_method: session.authMethod,
      status: session.status,
      expires_at: iso(session.createdAt + 30 * 86_400_000),
      ended_at: session.endedAt ? iso(session.endedAt) : null,
      created_at: iso(session.createdAt),
      updated_at: iso(session.endedAt ?? session.createdAt),
    };
  }

  /** GET /user_management/users/:id/sessions: the user's active sessions, newest first. */
  function listUserSessions(userId: string): unknown {
    if (!emailOf(userId)) throw new HttpError(404, { message: "User not found." });
    const active = userSessions.filter((s) => s.userId === userId && s.status === "active");
    return list(active.reverse().map(formatSession));
  }

  /** POST /user_management/sessions/revoke: ends a session; revoking an ended one again is a no-op. */
  function revokeSession(body: Record<string, unknown>): unknown {
    const sessionId = str(body.session_id);
    if (!sessionId) {
      throw new HttpError(422, {
        code: "invalid_request_parameters",
        message: "session_id is required",
        errors: [{ code: "session_id_required", field: "session_id" }],
      });
    }
    const session = userSessions.find((s) => s.id === sessionId);
    if (!session) throw new HttpError(404, { message: "Session not found." });
    if (session.status === "active") {
      session.status = "revoked";
      session.endedAt = now();
    }
    return {};
  }

  function formatChallenge(challenge: ChallengeRecord) {
    return {
      object: "authentication_challenge",
      id: challenge.id,
      created_at: iso(challenge.createdAt),
      updated_at: iso(challenge.createdAt),
      expires_at: iso(challenge.expiresAt),
      authentication_factor_id: challenge.factorId,
    };
  }

  function newChallenge(factorId: string): ChallengeRecord {
    const challenge: ChallengeRecord = {
      id: id("auth_challenge"),
      factorId,
      createdAt: now(),
      expiresAt: now() + PENDING_TTL_MS,
      used: false,
    };
    challenges.set(challenge.id, challenge);
    return challenge;
  }

  function newFactor(userId: string, issuer: string, totpUser: string): FactorRecord {
    const factor: FactorRecord = {
      id: id("auth_factor"),
      userId,
      secret: newTotpSecret(),
      issuer,
      totpUser,
      createdAt: now(),
      verified: false,
    };
    factors.set(factor.id, factor);
    return factor;
  }

  /**
   * POST /user_management/users/:id/auth_factors (`multiFactorAuth.createUserAuthFactor`):
   * a new TOTP factor with its secret, otpauth URI and QR image, and a first challenge.
   */
  function enrollFactor(userId: string, body: Record<string, unknown>): unknown {
    const email = emailOf(userId);
    if (!email) throw new HttpError(404, { message: "User not found." });
    if (body.type !== "totp") {
      throw new HttpError(422, {
        code: "invalid_request_parameters",
        message: "type must be totp",
        errors: [{ code: "type_invalid", field: "type" }],
      });
    }
    const issuer = str(body.totp_issuer) ?? "WorkOS";
    const totpUser = str(body.totp_user) ?? email;
    const factor = newFactor(userId, issuer, totpUser);
    const uri = `otpauth://totp/${encodeURIComponent(`${issuer}:${totpUser}`)}?secret=${factor.secret}&issuer=${encodeURIComponent(issuer)}`;
    const challenge = newChallenge(factor.id);
    return {
      authentication_factor: {
        object: "authentication_factor",
        id: factor.id,
        created_at: iso(factor.createdAt),
        updated_at: iso(factor.createdAt),
        type: "totp",
        totp: { issuer, user: totpUser, qr_code: qrImage(uri), secret: factor.secret, uri },
        user_id: userId,
      },
      authentication_challenge: formatChallenge(challenge),
    };
  }

  /** POST /auth/factors/:id/challenge (`multiFactorAuth.challengeFactor`). */
  function challengeFactor(factorId: string): unknown {
    if (!factors.has(factorId))
      throw new HttpError(404, { message: "Authentication factor not found." });
    return formatChallenge(newChallenge(factorId));
  }

  /** The `mfa-totp` grant: the pending authentication token, a challenge of one of its user's factors, and a TOTP code. */
  function authenticateTotp(body: Record<string, unknown>): unknown {
    const token = str(body.pending_authentication_token) ?? "";
    const pending = pendingAuthentications.get(token);
    if (!pending || pending.used || pending.expiresAt <= now()) {
      throw new HttpError(400, {
        code: "invalid_pending_authentication_token",
        message: "The pending authentication token is invalid or has expired.",
      });
    }
    limit(`totp:${token}`, AUTHENTICATE_LIMIT);
    const challenge = challenges.get(str(body.authentication_challenge_id) ?? "");
    const factor = challenge ? factors.get(challenge.factorId) : undefined;
    if (!challenge || !factor || factor.userId !== pending.userId || challenge.used) {
      throw new HttpError(400, {
        code: "authentication_challenge_invalid",
        message: "The authentication challenge is invalid.",
      });
    }
    if (challenge.expiresAt <= now()) {
      throw new HttpError(400, {
        code: "authentication_challenge_expired",
        message: "The authentication challenge has expired.",
      });
    }
    const step = verifyTotp(factor.secret, str(body.code) ?? "", now());
    // A code is good for its time step once: a replayed code is as wrong as a mistyped one.
    if (step === null || (factor.lastStep !== undefined && step <= factor.lastStep)) {
      throw oneTimeCodeError("invalid_one_time_code", "The code is invalid.");
    }
    factor.lastStep = step;
    factor.verified = true;
    challenge.used = true;
    pending.used = true;
    return signIn(emailOf(pending.userId), pending.authMethod, pending.organizationId, true);
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
    switch (body.grant_type) {
      case "urn:workos:oauth:grant-type:magic-auth:code":
        return authenticateMagicAuth(body);
      case "authorization_code":
        return authenticateSsoCode(body);
      case "urn:workos:oauth:grant-type:mfa-totp":
        return authenticateTotp(body);
      default:
        throw new HttpError(400, {
          error: "unsupported_grant_type",
          error_description: "Unsupported grant type.",
        });
    }
  }

  /** The `authorization_code` grant for a code from the SSO authorization redirect. */
  function authenticateSsoCode(body: Record<string, unknown>): unknown {
    const code = str(body.code) ?? "";
    const entry = ssoCodes.get(code);
    const invalidGrant = (description: string) =>
      new HttpError(400, { error: "invalid_grant", error_description: description });
    if (!entry) throw invalidGrant("The code is invalid.");
    if (entry.used) throw invalidGrant("The code has already been used.");
    if (entry.expiresAt <= now()) throw invalidGrant("The code has expired.");
    entry.used = true;
    const user = userFor(entry.email);
    user.firstName ??= entry.firstName;
    user.lastName ??= entry.lastName;
    return signIn(entry.email, "sso", entry.organizationId);
  }

  function authenticateMagicAuth(body: Record<string, unknown>): unknown {
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
    return signIn(email, "magic_code");
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

    if (path === "/user_management/authorize" && method === "GET") {
      const answer = authorize(url.searchParams);
      if (answer.status !== 302) {
        send(res, answer.status, answer.body ?? "");
        return;
      }
      res.writeHead(302, { Location: answer.location ?? "", "Cache-Control": "no-store" });
      res.end();
      return;
    }

    if (method === "GET") {
      requireBearer(req);
      if (path === "/organizations") {
        send(res, 200, listOrganizations(url.searchParams));
        return;
      }
      if (path === "/connections") {
        send(res, 200, listConnections(url.searchParams));
        return;
      }
      const sessionsOf = /^\/user_management\/users\/([^/]+)\/sessions$/.exec(path);
      if (sessionsOf) {
        send(res, 200, listUserSessions(decodeURIComponent(sessionsOf[1] ?? "")));
        return;
      }
      throw new HttpError(404, { message: "Not found." });
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
    if (path === "/user_management/sessions/revoke") {
      send(res, 200, revokeSession(body));
      return;
    }
    const enroll = /^\/user_management\/users\/([^/]+)\/auth_factors$/.exec(path);
    if (enroll) {
      send(res, 201, enrollFactor(decodeURIComponent(enroll[1] ?? ""), body));
      return;
    }
    const challenge = /^\/auth\/factors\/([^/]+)\/challenge$/.exec(path);
    if (challenge) {
      send(res, 201, challengeFactor(decodeURIComponent(challenge[1] ?? "")));
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
    clearFailures() {
      failures = [];
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
    addOrganization: seedOrganization,
    setSsoProfile(loginHint, profile) {
      ssoProfiles.set(loginHint.toLowerCase(), profile);
    },
    setMfa(mode) {
      mfaMode = mode;
    },
    enrollTotp(email) {
      const user = userFor(email.toLowerCase());
      const factor = newFactor(user.userId, "WorkOS", email);
      factor.verified = true;
      return { factorId: factor.id, secret: factor.secret };
    },
    userSessions(email) {
      const wanted = email?.toLowerCase();
      return userSessions.filter((s) => wanted === undefined || s.email.toLowerCase() === wanted);
    },
    userId: (email) => users.get(email.toLowerCase())?.userId,
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
      organizations = new Map();
      for (const seed of options.organizations ?? []) seedOrganization(seed);
      ssoCodes = new Map();
      ssoProfiles = new Map();
      userSessions = [];
      factors = new Map();
      challenges = new Map();
      pendingAuthentications = new Map();
      mfaMode = options.mfa ?? "optional";
    },
    async close() {
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return emulator;
}
