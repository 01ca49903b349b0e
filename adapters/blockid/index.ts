/**
 * The 1Kosmos BlockID adapter: email magic links through BlockID's access-code API, spoken
 * directly over HTTP (the vendor's Node helper is not on the npm registry). The protocol was
 * implemented from that helper's public source and is tested against the emulator in
 * tests/emulators/blockid; see "Using 1Kosmos BlockID" in the README.
 *
 * Flow:
 * - `start` asks BlockID to mail a verification link with the app's own HTML template. The
 *   template's `{{MAGICLINK}}` placeholder, which BlockID replaces with the code, sits in the
 *   link as `context.linkUrl + "?token={{MAGICLINK}}"`, so the email points at the app's
 *   landing page, whose GET never redeems anything (S7); only its form POST calls `verify`.
 * - `verify({ kind: "link", token })` fetches the code's record (step 1), checks it against
 *   the pending sign-in of this browser, and only then redeems it (step 2), so a scanner or a
 *   second device consumes nothing (S8).
 *
 * BlockID keeps the code; this adapter keeps no state of its own. The pending sign-in is
 * bound through `StartResult.ref`, which the strategy keeps in the pending-login cookie:
 * keyed hashes of the browser's nonce, the code and the address, never the values (S19).
 */
import { randomUUID } from "node:crypto";
import { systemClock, type Clock } from "../../app/lib/clock";
import { deriveKey, hmacHex, safeEqual, sha256Hex } from "../../app/lib/crypto.server";
import { renderSignInEmail } from "../../app/mail/template";
import { secret, text, url } from "../../app/lib/variables";
import { AuthError, isAuthError } from "../errors";
import { defineAdapter } from "../module";
import type {
  AuthAdapter,
  Identity,
  Proof,
  StartContext,
  StartResult,
  VerifyContext,
} from "../types";
import { EnvelopeError, decrypt, deriveSharedKey, encrypt, generateKeyPair } from "./envelope";

/** What a custom template gets. `link` already holds the `{{MAGICLINK}}` placeholder. */
export interface BlockIdMailTemplateInput {
  to: string;
  appName: string;
  /** The app's landing page with `?token={{MAGICLINK}}`; put it in the email's one link. */
  link: string;
  expiresInMinutes: number;
}

/** The email BlockID sends: HTML only (BlockID takes no plain-text part). */
export interface BlockIdMailTemplate {
  subject: string;
  /** Must contain `{{MAGICLINK}}` (inside `link`), or `start` throws `misconfigured`. */
  html: string;
}

export interface BlockIdAdapterOptions {
  /** The tenant's DNS name, e.g. "blockid-trial.1kosmos.net" (`BLOCKID_DNS`). */
  dns: string;
  /** The community name, e.g. "default" (`BLOCKID_COMMUNITY`). */
  community: string;
  /** The tenant's license key (`BLOCKID_LICENSE_KEY`). A secret: it only travels encrypted. */
  licenseKey: string;
  /**
   * Replaces `https://{dns}` for community info and the service directory (`BLOCKID_BASE_URL`,
   * for the emulator and offline development). When set, the service directory may also
   * point at plain http.
   */
  baseUrl?: string;
  /** The email template; defaults to the app's sign-in email. */
  mailTemplate?: (input: BlockIdMailTemplateInput) => BlockIdMailTemplate;
  appName?: string;
  /** Link lifetime asked of BlockID, seconds (S2); 1–900, default 600. */
  ttlSeconds?: number;
  /** Per-request timeout, ms; default 10 000. A timeout throws `unavailable`. */
  timeoutMs?: number;
  /** How long community info and the service directory are cached, ms; default 10 minutes. */
  cacheTtlMs?: number;
  clock?: Clock;
}

/** Community info, reduced to what the calls need, with the derived shared key. */
interface Tenant {
  tenantTag: string;
  communityName: string;
  key: Buffer;
}

interface Directory {
  adminconsole: string;
}

interface Answer {
  status: number;
  /** The parsed JSON body; undefined when the body was empty or not JSON. */
  body: unknown;
  retryAfter?: number;
  requestId: string;
}

/**
 * Codes travel in URL paths and as a query value of the emailed link, so only characters
 * that need no escaping there are accepted, and never a leading dot (no "." or ".." path
 * segments).
 */
const CODE = /^[A-Za-z0-9_~-][A-Za-z0-9_.~-]{0,199}$/;
const PLACEHOLDER = "{{MAGICLINK}}";
const MAX_ANSWER_CHARS = 1_000_000;
const REF_VERSION = "b1";

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function ok(status: number): boolean {
  return status >= 200 && status < 300;
}

function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.ceil(seconds) : undefined;
}

/**
 * The code in a link's token: normally the bare code. Should BlockID put its own full link
 * where `{{MAGICLINK}}` stands (the reference says it puts the code), the token is that URL
 * and the code is its `code` parameter or last path segment.
 */
function codeFromToken(token: unknown): string | undefined {
  if (typeof token !== "string" || token.length > 2048) return undefined;
  let candidate = token.trim();
  if (/^https?:\/\//i.test(candidate)) {
    try {
      const url = new URL(candidate);
      candidate =
        url.searchParams.get("code") ?? url.pathname.split("/").filter(Boolean).pop() ?? "";
    } catch {
      return undefined;
    }
  }
  return CODE.test(candidate) ? candidate : undefined;
}

const normalEmail = (email: string) => email.trim().toLowerCase();

/**
 * Create the BlockID adapter. Throws `misconfigured` at once for missing or malformed
 * options; nothing is fetched until the first `start` or `verify`.
 */
export function createBlockIdAdapter(options: BlockIdAdapterOptions): AuthAdapter {
  const dns = options.dns?.trim();
  const community = options.community?.trim();
  const licenseKeyOption = options.licenseKey?.trim();
  if (!dns || !/^[A-Za-z0-9.-]+(?::\d+)?$/.test(dns)) {
    throw new AuthError(
      "misconfigured",
      "BLOCKID_DNS must be a host name such as blockid-trial.1kosmos.net",
    );
  }
  if (!community) throw new AuthError("misconfigured", "BLOCKID_COMMUNITY is required");
  if (!licenseKeyOption) throw new AuthError("misconfigured", "BLOCKID_LICENSE_KEY is required");
  const licenseKey: string = licenseKeyOption;
  let base = `https://${dns}`;
  if (options.baseUrl !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(options.baseUrl);
    } catch {
      throw new AuthError("misconfigured", "BLOCKID_BASE_URL is not a URL");
    }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
      throw new AuthError("misconfigured", "BLOCKID_BASE_URL must be http(s)");
    }
    base = parsed.href.replace(/\/+$/, "");
  }
  const ttlSeconds = options.ttlSeconds ?? 600;
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0 || ttlSeconds > 900) {
    throw new AuthError("misconfigured", "The BlockID link lifetime must be 1–900 seconds");
  }
  const appName = options.appName ?? "the app";
  const timeoutMs = options.timeoutMs ?? 10_000;
  const cacheTtlMs = options.cacheTtlMs ?? 10 * 60_000;
  const clock = options.clock ?? systemClock;
  const mailTemplate =
    options.mailTemplate ??
    ((input: BlockIdMailTemplateInput) => {
      const { subject, html } = renderSignInEmail(input);
      return { subject, html };
    });

  // One key pair per adapter instance, as the vendor's helper keeps one per process.
  const keyPair = generateKeyPair();
  // Keyed, so the pending-login cookie never carries a guessable hash of the address (S19).
  const refKey = deriveKey(licenseKey, "blockid-ref");
  const mac = (purpose: string, value: string) =>
    hmacHex(refKey, `${purpose}:${value}`).slice(0, 32);

  /** A value fetched at most once at a time and kept for `cacheTtlMs`; failures are not kept. */
  function cached<T>(load: () => Promise<T>) {
    let value: { data: T; until: number } | undefined;
    let inflight: Promise<T> | undefined;
    return {
      get(): Promise<T> {
        if (value && clock() < value.until) return Promise.resolve(value.data);
        inflight ??= load()
          .then((data) => {
            value = { data, until: clock() + cacheTtlMs };
            return data;
          })
          .finally(() => {
            inflight = undefined;
          });
        return inflight;
      },
      clear() {
        value = undefined;
      },
    };
  }

  async function call(url: string, init: RequestInit, requestId = randomUUID()): Promise<Answer> {
    let response: Response;
    let text: string;
    try {
      // No redirects: the license key header must reach only the configured host.
      response = await fetch(url, {
        ...init,
        redirect: "error",
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw new AuthError("unavailable", "BlockID could not be reached", {
        cause: error,
        requestId,
      });
    }
    if (text.length > MAX_ANSWER_CHARS) {
      throw new AuthError("unavailable", "BlockID answered with an oversized body", { requestId });
    }
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    return {
      status: response.status,
      body,
      retryAfter: parseRetryAfter(response.headers.get("retry-after")),
      requestId,
    };
  }

  const malformed = (answer: Answer, what: string, cause?: unknown) =>
    new AuthError("unavailable", `BlockID answered ${what} with a malformed body`, {
      requestId: answer.requestId,
      cause,
    });

  /** The errors every failed answer shares; `specific` maps the call's own statuses first. */
  function failure(answer: Answer, specific: Partial<Record<number, AuthError>> = {}): AuthError {
    const { status, requestId } = answer;
    const own = specific[status];
    if (own) return own;
    if (status === 401 || status === 403) {
      // A rejected license or key; the community key may have rotated, so fetch it afresh next time.
      tenantCache.clear();
      return new AuthError("misconfigured", "BlockID rejected the license key or tenant", {
        requestId,
      });
    }
    if (status === 429) {
      return new AuthError("rate_limited", "BlockID asks to slow down", {
        retryAfter: answer.retryAfter,
        requestId,
      });
    }
    if (status >= 400 && status < 500) {
      return new AuthError("misconfigured", `BlockID refused the request (${status})`, {
        requestId,
      });
    }
    return new AuthError("unavailable", `BlockID failed (${status})`, { requestId });
  }

  const tenantCache = cached<Tenant>(async () => {
    const answer = await call(`${base}/api/r1/system/community_info/fetch`, {
      method: "POST",
      headers: { "Content-Type": "application/json", charset: "utf-8" },
      body: JSON.stringify({ dns, communityName: community }),
    });
    if (!ok(answer.status)) {
      throw failure(answer, {
        404: new AuthError("misconfigured", "BlockID knows no such tenant or community", {
          requestId: answer.requestId,
        }),
      });
    }
    const body = answer.body;
    if (
      !isObject(body) ||
      !isObject(body.tenant) ||
      !isObject(body.community) ||
      typeof body.tenant.tenanttag !== "string" ||
      typeof body.community.name !== "string" ||
      typeof body.community.publicKey !== "string"
    ) {
      throw malformed(answer, "community info");
    }
    let key: Buffer;
    try {
      key = deriveSharedKey(keyPair.privateKey, body.community.publicKey);
    } catch (error) {
      throw malformed(answer, "community info", error);
    }
    return { tenantTag: body.tenant.tenanttag, communityName: body.community.name, key };
  });

  const directoryCache = cached<Directory>(async () => {
    const answer = await call(`${base}/caas/sd`, {
      method: "GET",
      headers: { "Content-Type": "application/json", charset: "utf-8" },
    });
    if (!ok(answer.status)) throw failure(answer);
    const body = answer.body;
    if (!isObject(body) || typeof body.adminconsole !== "string")
      throw malformed(answer, "the service directory");
    let url: URL;
    try {
      url = new URL(body.adminconsole);
    } catch (error) {
      throw malformed(answer, "the service directory", error);
    }
    // The license key goes there: plain http only when the operator chose a base URL (tests).
    const allowed = options.baseUrl !== undefined ? ["https:", "http:"] : ["https:"];
    if (!allowed.includes(url.protocol)) throw malformed(answer, "the service directory");
    return { adminconsole: url.href.replace(/\/+$/, "") };
  });

  async function session() {
    const [tenant, directory] = await Promise.all([tenantCache.get(), directoryCache.get()]);
    const requestId = randomUUID();
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      charset: "utf-8",
      "X-tenantTag": tenant.tenantTag,
      publickey: keyPair.publicKey,
      licensekey: encrypt(licenseKey, tenant.key),
      requestid: encrypt(
        JSON.stringify({ ts: Math.round(clock() / 1000), appid: appName, uuid: requestId }),
        tenant.key,
      ),
    };
    const name = encodeURIComponent(tenant.communityName);
    return {
      tenant,
      headers,
      requestId,
      /** `PUT` here requests a link. */
      requestUrl: `${directory.adminconsole}/api/r2/acr/community/${name}/code`,
      /** `GET …/{code}` looks a code up, `POST …/{code}/redeem` consumes it. */
      codesUrl: `${directory.adminconsole}/api/r1/acr/community/${name}`,
    };
  }

  /** `ref`: keyed hashes binding this browser's nonce, the code and the address (S8, S19). */
  function makeRef(nonceHash: string, code: string, email: string): string {
    return [
      REF_VERSION,
      mac("nonce", nonceHash),
      mac("code", code),
      mac("email", normalEmail(email)),
    ].join(".");
  }

  function readRef(ref: string): { nonce: string; code: string; email: string } | undefined {
    const parts = ref.split(".");
    if (parts.length !== 4 || parts[0] !== REF_VERSION) return undefined;
    const [, nonce, code, email] = parts as [string, string, string, string];
    if (![nonce, code, email].every((part) => /^[0-9a-f]{32}$/.test(part))) return undefined;
    return { nonce, code, email };
  }

  async function start(email: string, context: StartContext): Promise<StartResult> {
    const { subject, html } = mailTemplate({
      to: email,
      appName,
      link: `${context.linkUrl}?token=${PLACEHOLDER}`,
      expiresInMinutes: Math.ceil(ttlSeconds / 60),
    });
    if (!html.includes(PLACEHOLDER)) {
      throw new AuthError("misconfigured", "The BlockID email template must contain {{MAGICLINK}}");
    }
    const { tenant, headers, requestId, requestUrl } = await session();
    const request = {
      createdBy: appName,
      version: "v0",
      type: "verification_link",
      emailTo: email,
      ttl_seconds: ttlSeconds,
      emailTemplateB64: Buffer.from(html, "utf8").toString("base64"),
      emailSubject: subject,
    };
    const answer = await call(
      requestUrl,
      {
        method: "PUT",
        headers,
        body: JSON.stringify({ data: encrypt(JSON.stringify(request), tenant.key) }),
      },
      requestId,
    );
    if (!ok(answer.status)) throw failure(answer);
    const body = answer.body;
    if (!isObject(body) || typeof body.code !== "string" || !CODE.test(body.code)) {
      throw malformed(answer, "the link request");
    }
    const result = body.emailResult;
    if (isObject(result) && typeof result.statusCode === "number" && result.statusCode >= 400) {
      throw new AuthError("unavailable", "BlockID could not send the email", { requestId });
    }
    return {
      delivered: { link: true, code: false },
      ref: makeRef(context.nonceHash, body.code, email),
      adapter: "blockid",
    };
  }

  /** Step 1: the code's record, without redeeming it. */
  async function fetchRecord(code: string): Promise<{ email: string }> {
    const { tenant, headers, requestId, codesUrl } = await session();
    const answer = await call(
      `${codesUrl}/${encodeURIComponent(code)}`,
      { method: "GET", headers },
      requestId,
    );
    if (!ok(answer.status)) {
      throw failure(answer, {
        400: new AuthError("invalid", "BlockID refused the code", { requestId }),
        404: new AuthError("invalid", "No such sign-in link", { requestId }),
        409: new AuthError("used", "This sign-in link was already used", { requestId }),
        410: new AuthError("expired", "This sign-in link has expired", { requestId }),
      });
    }
    const body = answer.body;
    if (!isObject(body) || typeof body.data !== "string")
      throw malformed(answer, "the code lookup");
    let record: unknown;
    try {
      record = JSON.parse(decrypt(body.data, tenant.key));
    } catch (error) {
      if (error instanceof EnvelopeError) tenantCache.clear();
      throw malformed(answer, "the code lookup", error);
    }
    if (!isObject(record) || !isObject(record.accesscodepayload))
      throw malformed(answer, "the code lookup");
    const email = record.accesscodepayload.otp_email;
    if (typeof email !== "string" || !email.includes("@"))
      throw malformed(answer, "the code lookup");
    if (record.type !== "verification_link")
      throw new AuthError("invalid", "Not a sign-in link", { requestId });
    // Redeem is the authority on these; the record's status lets us answer without trying.
    if (record.status === "redeemed")
      throw new AuthError("used", "This sign-in link was already used", { requestId });
    if (record.status === "expired")
      throw new AuthError("expired", "This sign-in link has expired", { requestId });
    return { email: email.trim() };
  }

  /** Step 2: consume the code. BlockID decides atomically which of parallel redemptions wins (S3). */
  async function redeem(code: string): Promise<void> {
    const { headers, requestId, codesUrl } = await session();
    const answer = await call(
      `${codesUrl}/${encodeURIComponent(code)}/redeem`,
      { method: "POST", headers, body: "{}" },
      requestId,
    );
    if (!ok(answer.status)) {
      throw failure(answer, {
        400: new AuthError("invalid", "BlockID refused the code", { requestId }),
        404: new AuthError("invalid", "No such sign-in link", { requestId }),
        409: new AuthError("used", "This sign-in link was already used", { requestId }),
        410: new AuthError("expired", "This sign-in link has expired", { requestId }),
      });
    }
  }

  async function verifyLink(token: string, context: VerifyContext): Promise<Identity> {
    const code = codeFromToken(token);
    if (!code) throw new AuthError("invalid", "Malformed link");
    const { email } = await fetchRecord(code);

    // Every binding check happens before the redeem, so a confirmation from the wrong
    // browser leaves the link usable where the sign-in started (S8).
    if (!context.ref || !context.nonceHash)
      throw new AuthError("not_same_browser", "Confirmed from another browser");
    const ref = readRef(context.ref);
    if (!ref) throw new AuthError("invalid", "The pending sign-in is not a BlockID one");
    if (!safeEqual(ref.nonce, mac("nonce", context.nonceHash))) {
      throw new AuthError("not_same_browser", "Confirmed from another browser");
    }
    const sameAddress = safeEqual(ref.email, mac("email", normalEmail(email)));
    if (!safeEqual(ref.code, mac("code", code))) {
      // Another link for this browser's address: a newer request superseded it (S4).
      // A link for another address: someone else's sign-in, e.g. login CSRF (S8).
      if (sameAddress) throw new AuthError("invalid", "A newer sign-in link replaced this one");
      throw new AuthError("not_same_browser", "This link belongs to another sign-in");
    }
    // The code is this browser's, so the address must be the one it asked for.
    if (!sameAddress) throw new AuthError("invalid", "The link is for another address");

    await redeem(code);
    return {
      // Stable per tenant, community and address; independent of the license key, so a key
      // rotation keeps everyone's id.
      id: `blockid_${sha256Hex(`${dns}\n${community}\n${normalEmail(email)}`).slice(0, 32)}`,
      email,
      adapter: "blockid",
    };
  }

  async function guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isAuthError(error)) throw error;
      // Nothing from the protocol escapes raw: envelope, JSON or network surprises alike.
      throw new AuthError("unavailable", "BlockID failed", { cause: error });
    }
  }

  return {
    name: "blockid",
    delivers: { link: true, code: false },
    start: (email, context) => guard(() => start(email, context)),
    verify: (proof: Proof, context: VerifyContext) =>
      guard(() => {
        if (proof.kind !== "link") {
          throw new AuthError("invalid", "BlockID issues links only; there is no code to enter");
        }
        return verifyLink(proof.token, context);
      }),
  };
}

/** `AUTH_ADAPTER=blockid`: a 1Kosmos BlockID tenant. */
export const blockIdAdapter = defineAdapter({
  name: "blockid",
  variables: {
    BLOCKID_DNS: text({ required: true }),
    BLOCKID_COMMUNITY: text({ required: true }),
    BLOCKID_LICENSE_KEY: secret({ required: true }),
    BLOCKID_BASE_URL: url({ protocols: ["http:", "https:"] }),
  },
  // BlockID sends the email (with the app's template); the app's mailer is not used.
  sendsMail: () => false,
  create: ({ config, clock }, values) =>
    createBlockIdAdapter({
      dns: values.BLOCKID_DNS,
      community: values.BLOCKID_COMMUNITY,
      licenseKey: values.BLOCKID_LICENSE_KEY,
      baseUrl: values.BLOCKID_BASE_URL,
      appName: config.appName,
      ttlSeconds: config.loginTtlSeconds,
      clock,
    }),
});
