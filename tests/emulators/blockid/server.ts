/**
 * A 1Kosmos BlockID emulator: a real HTTP server on 127.0.0.1 that speaks the email
 * magic-link protocol (read from the public
 * helper's source), so the adapter runs end to end offline.
 *
 * It holds a community key pair, derives the shared key from each request's `publickey`
 * header, checks the encrypted `licensekey` and `requestid` headers, decrypts request bodies
 * and encrypts the code record exactly as the protocol says. The reference does not
 * describe error answers, so the emulator picks plain HTTP statuses with a JSON `message`
 * (the adapter maps statuses, never message text):
 *
 * | case | answer |
 * |---|---|
 * | unknown tenant or community | 404 |
 * | bad or missing license key, tenant tag, public key or request id (or a replayed one) | 401 |
 * | malformed body or template without `{{MAGICLINK}}`, a redeem body that is not a JSON object | 400 |
 * | a request id's `ts` (seconds) further than `maxSkewSeconds` from the emulator's clock | 401 |
 * | unknown code (GET or redeem) | 404 |
 * | GET of a known code | 200, `{data: ENC(record)}`, `status` "active", "redeemed" or "expired" |
 * | redeem of a redeemed code | 409 |
 * | redeem of an expired code | 410 |
 *
 * A newer request for the same address does not revoke older codes (nothing in the helper
 * says it does); the adapter's own binding makes the newest request win (S4).
 */
import { randomBytes, randomUUID } from "node:crypto";
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import {
  decrypt,
  deriveSharedKey,
  encrypt,
  generateKeyPair,
  type KeyPair,
} from "../../../adapters/blockid/envelope";
import { trackSockets } from "../../support/sockets";

export type BlockIdRoute = "community_info" | "sd" | "request" | "fetch" | "redeem";

/**
 * What a route does instead of its normal answer: a status (500 by default for "error"),
 * a delay before the normal answer, a dropped connection, or a 200 with a body that is not
 * the protocol's.
 */
export type BlockIdFault =
  | "error"
  | "unreachable"
  | "malformed"
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { delayMs: number };

export interface BlockIdEmulatorOptions {
  /** The tenant's host name; with `tls` and none given, `127.0.0.1:<port>` (so `https://${dns}` reaches it). */
  dns?: string;
  /** Serve https with this key and certificate (tests/emulators/tls) instead of plain http. */
  tls?: { key: string; cert: string };
  /** What the service directory names as its adminconsole, given the emulator's own URL. */
  adminconsole?: (url: string) => string;
  community?: string;
  licenseKey?: string;
  tenantTag?: string;
  /** Lifetime of a code when the request names none, seconds. */
  defaultTtlSeconds?: number;
  /** Start time of the emulator's clock (ms since the epoch); move it with `advance`. */
  now?: number;
  /**
   * What `{{MAGICLINK}}` is replaced with. The reference says the code; "link" makes the
   * emulator substitute its own full link instead, to prove the adapter copes with both.
   */
  placeholder?: "code" | "link";
  /**
   * Refuse (401) a request id whose `ts`, seconds since the epoch, is further than this from
   * the emulator's clock, as a service refusing stale or future requests would. Off by
   * default, since most tests move the emulator's clock without the adapter's.
   */
  maxSkewSeconds?: number;
}

/** An email the emulator "sent": the template with `{{MAGICLINK}}` filled in. */
export interface BlockIdEmail {
  to: string;
  subject?: string;
  html: string;
  /** The first link (`href`) in the email, as the person would click it. */
  link: string;
  /** The BlockID code the email carries. */
  code: string;
}

export interface BlockIdRequest {
  route: BlockIdRoute | "unknown";
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface BlockIdEmulator {
  /** `http(s)://127.0.0.1:<port>`: the adapter's `baseUrl`, and the service directory's adminconsole. */
  readonly url: string;
  readonly dns: string;
  readonly community: string;
  readonly licenseKey: string;
  readonly tenantTag: string;
  /** The community's public key, as community info reports it. */
  readonly publicKey: string;
  /** Every request seen, in order (faulted ones too), with its raw headers and body. */
  readonly requests: readonly BlockIdRequest[];
  /** Every email sent, in order. */
  readonly emails: readonly BlockIdEmail[];
  /** The newest email to `email`, or undefined. */
  lastEmailTo(email: string): BlockIdEmail | undefined;
  /** The emulator's clock, ms since the epoch. */
  now(): number;
  /** Move the emulator's clock forward (expiry without sleeping). */
  advance(ms: number): void;
  /** Make `route` (or every route) answer with `fault`, for the next `times` requests (default: until cleared). */
  fault(route: BlockIdRoute | "all", fault: BlockIdFault, times?: number): void;
  clearFaults(): void;
  /** Make the record of `code` name another address (a provider answering for the wrong person). */
  setRecordEmail(code: string, email: string): void;
  /**
   * Serve what `change` makes of the code's record (given the record the emulator would
   * serve) instead, encrypted as usual: a string is sent as the decrypted text itself, any
   * other value as its JSON. The code's own state (redeemed, expiry) does not change.
   */
  setRecord(code: string, change: (record: Record<string, unknown>) => unknown): void;
  /** Replace the community key pair (a key rotation on the service's side). */
  rotateCommunityKey(): void;
  close(): Promise<void>;
}

interface CodeRecord {
  id: string;
  code: string;
  uuid: string;
  email: string;
  createdTime: number;
  ttlSeconds: number;
  redeemed: boolean;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const MAX_BODY = 1_000_000;

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) reject(new HttpError(413, "Body too large"));
      else chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "Body is not JSON");
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

function decodeHtmlAttribute(value: string): string {
  return value
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");
}

/** Start an emulator on a free port of 127.0.0.1. Close it in the test's teardown. */
export async function startBlockIdEmulator(
  options: BlockIdEmulatorOptions = {},
): Promise<BlockIdEmulator> {
  let dns = options.dns ?? "blockid.test";
  const community = options.community ?? "default";
  const licenseKey = options.licenseKey ?? randomUUID();
  const tenantTag = options.tenantTag ?? "TESTTENANT";
  const tenantId = randomBytes(12).toString("hex");
  const communityId = randomBytes(12).toString("hex");
  const defaultTtlSeconds = options.defaultTtlSeconds ?? 600;
  const placeholder = options.placeholder ?? "code";
  const maxSkewSeconds = options.maxSkewSeconds;
  let keys: KeyPair = generateKeyPair();
  let clock = options.now ?? Date.now();

  const codes = new Map<string, CodeRecord>();
  const recordChanges = new Map<string, (record: Record<string, unknown>) => unknown>();
  const seenRequestIds = new Set<string>();
  const requests: BlockIdRequest[] = [];
  const emails: BlockIdEmail[] = [];
  const faults: Array<{ route: BlockIdRoute | "all"; fault: BlockIdFault; left: number }> = [];
  const timers = new Set<NodeJS.Timeout>();
  let url = "";

  const acrPrefix = `/api/r1/acr/community/${encodeURIComponent(community)}/`;

  function route(method: string, path: string): { name: BlockIdRoute | "unknown"; code?: string } {
    if (method === "POST" && path === "/api/r1/system/community_info/fetch")
      return { name: "community_info" };
    if (method === "GET" && path === "/caas/sd") return { name: "sd" };
    if (
      method === "PUT" &&
      path === `/api/r2/acr/community/${encodeURIComponent(community)}/code`
    ) {
      return { name: "request" };
    }
    if (path.startsWith(acrPrefix)) {
      const rest = path.slice(acrPrefix.length).split("/");
      const code = decodeURIComponent(rest[0] ?? "");
      if (method === "GET" && rest.length === 1 && code) return { name: "fetch", code };
      if (method === "POST" && rest.length === 2 && rest[1] === "redeem" && code)
        return { name: "redeem", code };
    }
    return { name: "unknown" };
  }

  function takeFault(name: BlockIdRoute | "unknown"): BlockIdFault | undefined {
    const index = faults.findIndex((f) => f.route === "all" || f.route === name);
    if (index < 0) return undefined;
    const entry = faults[index] as (typeof faults)[number];
    entry.left -= 1;
    if (entry.left <= 0) faults.splice(index, 1);
    return entry.fault;
  }

  /** The checks every acr call makes; returns the shared key of this caller. */
  function authenticate(request: IncomingMessage): Buffer {
    const unauthorized = () => new HttpError(401, "Invalid or Unauthorized License");
    if (header(request, "x-tenanttag") !== tenantTag) throw unauthorized();
    const publicKey = header(request, "publickey");
    const encryptedLicense = header(request, "licensekey");
    const encryptedRequestId = header(request, "requestid");
    if (!publicKey || !encryptedLicense || !encryptedRequestId) throw unauthorized();
    let key: Buffer;
    let license: string;
    let requestId: unknown;
    try {
      key = deriveSharedKey(keys.privateKey, publicKey);
      license = decrypt(encryptedLicense, key);
      requestId = JSON.parse(decrypt(encryptedRequestId, key));
    } catch {
      throw unauthorized();
    }
    if (license !== licenseKey) throw unauthorized();
    if (
      !isObject(requestId) ||
      typeof requestId.ts !== "number" ||
      typeof requestId.appid !== "string" ||
      typeof requestId.uuid !== "string" ||
      seenRequestIds.has(requestId.uuid)
    ) {
      throw unauthorized();
    }
    if (maxSkewSeconds !== undefined && Math.abs(requestId.ts - clock / 1000) > maxSkewSeconds)
      throw unauthorized();
    seenRequestIds.add(requestId.uuid);
    return key;
  }

  function statusOf(record: CodeRecord): "active" | "redeemed" | "expired" {
    if (record.redeemed) return "redeemed";
    return clock >= record.createdTime + record.ttlSeconds * 1000 ? "expired" : "active";
  }

  function communityInfo(body: unknown) {
    if (!isObject(body) || body.dns !== dns || body.communityName !== community) {
      throw new HttpError(404, "Community not found");
    }
    return {
      tenant: { id: tenantId, tenanttag: tenantTag, dns },
      community: { id: communityId, name: community, publicKey: keys.publicKey },
    };
  }

  function requestLink(key: Buffer, body: unknown) {
    if (!isObject(body) || typeof body.data !== "string")
      throw new HttpError(400, "data is required");
    let payload: unknown;
    try {
      payload = JSON.parse(decrypt(body.data, key));
    } catch {
      throw new HttpError(400, "data could not be decrypted");
    }
    if (
      !isObject(payload) ||
      payload.version !== "v0" ||
      payload.type !== "verification_link" ||
      typeof payload.createdBy !== "string" ||
      typeof payload.emailTo !== "string" ||
      !payload.emailTo.includes("@")
    ) {
      throw new HttpError(400, "Malformed request");
    }
    const ttl = payload.ttl_seconds ?? defaultTtlSeconds;
    if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl <= 0)
      throw new HttpError(400, "Bad ttl_seconds");
    let template = '<p><a href="{{MAGICLINK}}">Verify your email</a></p>';
    if (payload.emailTemplateB64 !== undefined) {
      if (typeof payload.emailTemplateB64 !== "string")
        throw new HttpError(400, "Bad emailTemplateB64");
      template = Buffer.from(payload.emailTemplateB64, "base64").toString("utf8");
    }
    if (!template.includes("{{MAGICLINK}}"))
      throw new HttpError(400, "The template lacks {{MAGICLINK}}");

    const code = randomBytes(24).toString("base64url");
    const record: CodeRecord = {
      id: randomBytes(12).toString("hex"),
      code,
      uuid: randomUUID(),
      email: payload.emailTo,
      createdTime: clock,
      ttlSeconds: ttl,
      redeemed: false,
    };
    codes.set(code, record);
    const ownLink = `${url}/verify/${code}`;
    const html = template.replaceAll("{{MAGICLINK}}", placeholder === "code" ? code : ownLink);
    const href = /href="([^"]*)"/.exec(html)?.[1];
    emails.push({
      to: payload.emailTo,
      subject: typeof payload.emailSubject === "string" ? payload.emailSubject : undefined,
      html,
      link: href ? decodeHtmlAttribute(href) : ownLink,
      code,
    });
    return {
      link: ownLink,
      code,
      emailResult: {
        status: "success",
        statusCode: 200,
        message: "Email sent",
        messageId: randomUUID(),
      },
    };
  }

  function recordPayload(record: CodeRecord) {
    return {
      id: record.id,
      type: "verification_link",
      uuid: record.uuid,
      ttl: new Date(record.createdTime + record.ttlSeconds * 1000).toISOString(),
      ttl_seconds: record.ttlSeconds,
      createdTime: record.createdTime,
      tenantId,
      communityId,
      accesscodepayload: { otp_email: record.email },
      status: statusOf(record),
    };
  }

  function lookup(code: string | undefined): CodeRecord {
    const record = code ? codes.get(code) : undefined;
    if (!record) throw new HttpError(404, "Access code not found");
    return record;
  }

  async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? "/", "http://emulator").pathname;
    const method = request.method ?? "GET";
    const { name, code } = route(method, path);
    const body = await readBody(request);
    requests.push({ route: name, method, path, headers: request.headers, body });

    const send = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { "content-type": "application/json", ...headers });
      response.end(JSON.stringify(value));
    };

    const fault = takeFault(name);
    if (fault === "unreachable") {
      request.socket.destroy();
      return;
    }
    if (fault === "error") return send(500, { message: "Internal Server Error" });
    if (fault === "malformed") {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(
        name === "fetch" ? JSON.stringify({ data: "bm90IGFuIGVudmVsb3Bl" }) : "<html>oops</html>",
      );
      return;
    }
    if (fault && "status" in fault)
      return send(fault.status, fault.body ?? { message: "Fault" }, fault.headers);
    if (fault && "delayMs" in fault) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, fault.delayMs);
        timers.add(timer);
      });
      if (response.destroyed) return;
    }

    try {
      switch (name) {
        case "community_info":
          return send(200, communityInfo(parseJson(body)));
        case "sd":
          return send(200, {
            adminconsole: options.adminconsole ? options.adminconsole(url) : url,
            licenses: url,
            caas: `${url}/caas`,
          });
        case "request": {
          const key = authenticate(request);
          return send(200, requestLink(key, parseJson(body)));
        }
        case "fetch": {
          const key = authenticate(request);
          const record = lookup(code);
          const change = recordChanges.get(record.code);
          const served: unknown = change ? change(recordPayload(record)) : recordPayload(record);
          const text = typeof served === "string" ? served : JSON.stringify(served);
          return send(200, { data: encrypt(text, key) });
        }
        case "redeem": {
          authenticate(request);
          const record = lookup(code);
          if (!isObject(parseJson(body)))
            throw new HttpError(400, "The body must be a JSON object");
          const status = statusOf(record);
          if (status === "redeemed") throw new HttpError(409, "Access code already redeemed");
          if (status === "expired") throw new HttpError(410, "Access code expired");
          // Checked and set in one synchronous step: of parallel redemptions exactly one wins.
          record.redeemed = true;
          return send(200, { message: "Access code redeemed" });
        }
        default:
          return send(404, { message: "Not found" });
      }
    } catch (error) {
      if (error instanceof HttpError) return send(error.status, { message: error.message });
      throw error;
    }
  }

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    answer(request, response).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      if (!response.headersSent) {
        response.writeHead(status, { "content-type": "application/json" });
        response.end(JSON.stringify({ message: "Emulator failure" }));
      }
    });
  };
  const server = options.tls ? createHttpsServer(options.tls, handle) : createServer(handle);
  const sockets = trackSockets(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  url = `${options.tls ? "https" : "http"}://127.0.0.1:${port}`;
  if (options.tls && options.dns === undefined) dns = `127.0.0.1:${port}`;

  return {
    url,
    dns,
    community,
    licenseKey,
    tenantTag,
    get publicKey() {
      return keys.publicKey;
    },
    requests,
    emails,
    lastEmailTo(email) {
      for (let i = emails.length - 1; i >= 0; i -= 1) {
        if (emails[i]?.to === email) return emails[i];
      }
      return undefined;
    },
    now: () => clock,
    advance(ms) {
      clock += ms;
    },
    fault(routeName, fault, times = Number.POSITIVE_INFINITY) {
      faults.push({ route: routeName, fault, left: times });
    },
    clearFaults() {
      faults.length = 0;
    },
    setRecordEmail(code, email) {
      const record = codes.get(code);
      if (!record) throw new Error(`No such code: ${code}`);
      record.email = email;
    },
    setRecord(code, change) {
      if (!codes.has(code)) throw new Error(`No such code: ${code}`);
      recordChanges.set(code, change);
    },
    rotateCommunityKey() {
      keys = generateKeyPair();
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Slow faults hold connections open; a test's teardown must not wait for them.
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        sockets.destroyAll();
      });
    },
  };
}
