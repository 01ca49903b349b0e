import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  blockIdAdapter,
  createBlockIdAdapter,
  type BlockIdAdapterOptions,
} from "../../adapters/blockid/index";
import { createAdapter } from "../../adapters/registry";
import { parseConfig } from "../../app/config.server";
import { Outbox } from "../../app/mail/outbox.server";
import { MemoryStore } from "../../app/store/memory.server";
import { isAuthError, type AuthErrorCode } from "../../adapters/errors";
import type { AuthAdapter, StartContext, VerifyContext } from "../../adapters/types";
import { sha256Hex } from "../../app/lib/crypto.server";
import {
  startBlockIdEmulator,
  type BlockIdEmulator,
  type BlockIdEmulatorOptions,
} from "../emulators/blockid/server";
import { testCertificate, trustTestCertificate } from "../emulators/tls";

const LINK_URL = "https://app.test/auth/link";
const NONCE_A = sha256Hex("nonce-of-browser-a");
const NONCE_B = sha256Hex("nonce-of-browser-b");

let emulator: BlockIdEmulator;
let now: number;

async function boot(options: BlockIdEmulatorOptions = {}) {
  emulator = await startBlockIdEmulator(options);
}

beforeEach(async () => {
  now = Date.UTC(2030, 0, 1);
  await boot();
});

afterEach(async () => {
  await emulator.close();
});

function adapter(overrides: Partial<BlockIdAdapterOptions> = {}): AuthAdapter {
  return createBlockIdAdapter({
    dns: emulator.dns,
    community: emulator.community,
    licenseKey: emulator.licenseKey,
    baseUrl: emulator.url,
    appName: "Acme",
    timeoutMs: 2_000,
    clock: () => now,
    ...overrides,
  });
}

function startContext(nonceHash = NONCE_A): StartContext {
  return {
    linkUrl: LINK_URL,
    callbackUrl: "https://app.test/auth/callback",
    state: "state",
    nonceHash,
  };
}

/** The token the landing page would receive from the emailed link. */
function tokenFor(email: string): string {
  const sent = emulator.lastEmailTo(email);
  if (!sent) throw new Error(`no email to ${email}`);
  const token = new URL(sent.link).searchParams.get("token");
  if (!token) throw new Error("the link carries no token");
  return token;
}

async function startFor(auth: AuthAdapter, email: string, nonceHash = NONCE_A) {
  const started = await auth.start(email, startContext(nonceHash));
  const context: VerifyContext = { ref: started.ref, adapter: started.adapter, nonceHash };
  return { started, context, token: tokenFor(email) };
}

async function expectAuthError(promise: Promise<unknown>, code: AuthErrorCode) {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(isAuthError(error), `expected an AuthError ${code}, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
  return error as { code: AuthErrorCode; retryAfter?: number };
}

const countOf = (route: string) => emulator.requests.filter((r) => r.route === route).length;

describe("BlockID adapter: sign-in by link", () => {
  it("mails the app's landing page with the code and signs in through verify then redeem", async () => {
    const auth = adapter();
    expect(auth.name).toBe("blockid");
    expect(auth.delivers).toEqual({ link: true, code: false });
    expect(auth.sendCode).toBeUndefined();

    const { started, context, token } = await startFor(auth, "ada@example.com");
    expect(started.delivered).toEqual({ link: true, code: false });
    expect(started.adapter).toBe("blockid");

    const sent = emulator.lastEmailTo("ada@example.com");
    // The link targets the app's page (whose GET never redeems, S7), carrying BlockID's code.
    expect(sent?.link).toBe(`${LINK_URL}?token=${sent?.code}`);
    expect(sent?.html).toContain("Sign in to Acme");
    expect(sent?.html).not.toContain("{{MAGICLINK}}");
    expect(token).toBe(sent?.code);

    const identity = await auth.verify({ kind: "link", token }, context);
    expect(identity).toMatchObject({ email: "ada@example.com", adapter: "blockid" });
    expect(identity.id).toMatch(/^blockid_[0-9a-f]{32}$/);
    const routes = emulator.requests.map((r) => r.route);
    // Community info and the service directory are fetched in parallel, in either order.
    expect([...routes.slice(0, 2)].sort()).toEqual(["community_info", "sd"]);
    expect(routes.slice(2)).toEqual(["request", "fetch", "redeem"]);

    // The same person gets the same id next time.
    const again = await startFor(auth, "ada@example.com");
    expect((await auth.verify({ kind: "link", token: again.token }, again.context)).id).toBe(
      identity.id,
    );
  });

  it("keeps the address and the code out of the reference and out of clear text on the wire", async () => {
    const auth = adapter();
    const { started, token } = await startFor(auth, "ada@example.com");
    expect(started.ref).not.toContain("@");
    expect(started.ref).not.toContain(token);
    expect(started.ref).not.toContain(sha256Hex("ada@example.com").slice(0, 32));
    for (const request of emulator.requests.filter((r) => r.route === "request")) {
      const wire = JSON.stringify(request.headers) + request.body;
      expect(wire).not.toContain(emulator.licenseKey);
      expect(wire).not.toContain("ada@example.com");
      expect(request.headers["x-tenanttag"]).toBe(emulator.tenantTag);
      expect(Buffer.from(String(request.headers.publickey), "base64")).toHaveLength(64);
    }
  });

  it("uses a custom template, and refuses one without {{MAGICLINK}} before sending anything", async () => {
    const custom = adapter({
      mailTemplate: ({ link, appName }) => ({
        subject: `Your ${appName} link`,
        html: `<a href="${link}">go</a>`,
      }),
    });
    const { token, context } = await startFor(custom, "ada@example.com");
    expect(emulator.lastEmailTo("ada@example.com")?.subject).toBe("Your Acme link");
    expect(emulator.lastEmailTo("ada@example.com")?.html).toBe(
      `<a href="${LINK_URL}?token=${token}">go</a>`,
    );
    await custom.verify({ kind: "link", token }, context);

    const broken = adapter({ mailTemplate: () => ({ subject: "x", html: "<p>no link</p>" }) });
    const before = emulator.emails.length;
    await expectAuthError(broken.start("bob@example.com", startContext()), "misconfigured");
    expect(emulator.emails).toHaveLength(before);
  });

  it("copes with a service that puts its own full link where {{MAGICLINK}} stands", async () => {
    await emulator.close();
    await boot({ placeholder: "link" });
    const auth = adapter();
    const { token, context } = await startFor(auth, "ada@example.com");
    expect(token).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/verify\//);
    expect((await auth.verify({ kind: "link", token }, context)).email).toBe("ada@example.com");
  });

  it("accepts no code or callback proofs: it delivers links only", async () => {
    const auth = adapter();
    const { context } = await startFor(auth, "ada@example.com");
    await expectAuthError(
      auth.verify({ kind: "code", email: "ada@example.com", code: "123456" }, context),
      "invalid",
    );
    await expectAuthError(auth.verify({ kind: "callback", code: "abc" }, context), "invalid");
  });
});

describe("BlockID adapter: single use and expiry", () => {
  it("refuses a second use", async () => {
    const auth = adapter();
    const { token, context } = await startFor(auth, "ada@example.com");
    await auth.verify({ kind: "link", token }, context);
    await expectAuthError(auth.verify({ kind: "link", token }, context), "used");
  });

  it("lets exactly one of parallel redemptions through (S3)", async () => {
    const auth = adapter();
    const { token, context } = await startFor(auth, "ada@example.com");
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, () => auth.verify({ kind: "link", token }, context)),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const result of results.filter((r) => r.status === "rejected")) {
      expect(isAuthError(result.reason) && result.reason.code).toBe("used");
    }
  });

  it("refuses an expired link and accepts it just before expiry (S2)", async () => {
    const auth = adapter({ ttlSeconds: 600 });
    const first = await startFor(auth, "ada@example.com");
    emulator.advance(599_000);
    await auth.verify({ kind: "link", token: first.token }, first.context);

    const second = await startFor(auth, "ada@example.com");
    emulator.advance(601_000);
    await expectAuthError(
      auth.verify({ kind: "link", token: second.token }, second.context),
      "expired",
    );
  });

  it("asks BlockID for the configured lifetime", async () => {
    const auth = adapter({ ttlSeconds: 120 });
    const { token, context } = await startFor(auth, "ada@example.com");
    emulator.advance(121_000);
    await expectAuthError(auth.verify({ kind: "link", token }, context), "expired");
  });

  it("maps the redeem step's own answers: already redeemed, expired, unknown", async () => {
    const auth = adapter();
    const { token, context } = await startFor(auth, "ada@example.com");
    emulator.fault("redeem", { status: 409 }, 1);
    await expectAuthError(auth.verify({ kind: "link", token }, context), "used");
    emulator.fault("redeem", { status: 410 }, 1);
    await expectAuthError(auth.verify({ kind: "link", token }, context), "expired");
    emulator.fault("redeem", { status: 404 }, 1);
    await expectAuthError(auth.verify({ kind: "link", token }, context), "invalid");
    // None of those consumed the code.
    await auth.verify({ kind: "link", token }, context);
  });

  it("refuses an unknown code, and a malformed token without asking BlockID", async () => {
    const auth = adapter();
    const { context } = await startFor(auth, "ada@example.com");
    await expectAuthError(
      auth.verify({ kind: "link", token: "NoSuchCode123" }, context),
      "invalid",
    );
    const asked = emulator.requests.length;
    for (const token of [
      "",
      "..",
      "../../system",
      "a/b",
      "x".repeat(300),
      "a b",
      "%2e%2e",
      "http://[bad",
    ]) {
      await expectAuthError(auth.verify({ kind: "link", token }, context), "invalid");
    }
    expect(emulator.requests.length).toBe(asked);
  });
});

describe("BlockID adapter: the pending sign-in (S4, S8)", () => {
  it("refuses a confirmation without the starting browser's pending sign-in, and keeps the link usable", async () => {
    const auth = adapter();
    const { token, context } = await startFor(auth, "ada@example.com");
    await expectAuthError(auth.verify({ kind: "link", token }, {}), "not_same_browser");
    await expectAuthError(
      auth.verify({ kind: "link", token }, { ref: context.ref }),
      "not_same_browser",
    );
    await expectAuthError(
      auth.verify({ kind: "link", token }, { ...context, nonceHash: NONCE_B }),
      "not_same_browser",
    );
    expect(countOf("redeem")).toBe(0);
    await auth.verify({ kind: "link", token }, context);
  });

  it("refuses someone else's link in a browser with its own pending sign-in (login CSRF)", async () => {
    const auth = adapter();
    const attacker = await startFor(auth, "mallory@example.com", NONCE_B);
    const victim = await startFor(auth, "ada@example.com", NONCE_A);
    await expectAuthError(
      auth.verify({ kind: "link", token: attacker.token }, victim.context),
      "not_same_browser",
    );
    await auth.verify({ kind: "link", token: attacker.token }, attacker.context);
  });

  it("lets the newest request win in the browser that made both", async () => {
    const auth = adapter();
    const older = await startFor(auth, "ada@example.com");
    const newer = await startFor(auth, "ada@example.com");
    await expectAuthError(
      auth.verify({ kind: "link", token: older.token }, newer.context),
      "invalid",
    );
    await auth.verify({ kind: "link", token: newer.token }, newer.context);
  });

  it("checks the redeemed record's address against the pending sign-in", async () => {
    const auth = adapter();
    const { token, context } = await startFor(auth, "ada@example.com");
    emulator.setRecordEmail(token, "eve@example.com");
    await expectAuthError(auth.verify({ kind: "link", token }, context), "invalid");
    expect(countOf("redeem")).toBe(0);
    emulator.setRecordEmail(token, "ADA@Example.com");
    expect((await auth.verify({ kind: "link", token }, context)).email).toBe("ADA@Example.com");
  });

  it("refuses a reference that is not one of its own", async () => {
    const auth = adapter();
    const { token } = await startFor(auth, "ada@example.com");
    await expectAuthError(
      auth.verify({ kind: "link", token }, { ref: "local-record-id", nonceHash: NONCE_A }),
      "invalid",
    );
  });
});

describe("BlockID adapter: configuration and provider failures", () => {
  it("maps a bad license key to misconfigured, on start and on verify", async () => {
    const good = adapter();
    const { token, context } = await startFor(good, "ada@example.com");
    const bad = adapter({ licenseKey: "00000000-0000-0000-0000-000000000000" });
    await expectAuthError(bad.start("bob@example.com", startContext()), "misconfigured");
    expect(emulator.lastEmailTo("bob@example.com")).toBeUndefined();
    await expectAuthError(bad.verify({ kind: "link", token }, context), "misconfigured");
    await good.verify({ kind: "link", token }, context);
  });

  it("maps an unknown tenant or community to misconfigured", async () => {
    await expectAuthError(
      adapter({ community: "nope" }).start("ada@example.com", startContext()),
      "misconfigured",
    );
    await expectAuthError(
      adapter({ dns: "other.test" }).start("ada@example.com", startContext()),
      "misconfigured",
    );
  });

  it("refuses bad options at creation", () => {
    const base = { dns: "t.test", community: "c", licenseKey: "k" };
    const create = (options: Partial<BlockIdAdapterOptions>) => () =>
      createBlockIdAdapter({ ...base, ...options });
    for (const options of [
      { dns: "" },
      { dns: "https://t.test" },
      { community: " " },
      { licenseKey: "" },
      { baseUrl: "not a url" },
      { baseUrl: "ftp://t.test" },
      { ttlSeconds: 901 },
      { ttlSeconds: 0 },
    ]) {
      expect(create(options), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: "misconfigured" }),
      );
    }
    expect(create({})).not.toThrow();
  });

  it("maps a 500 to unavailable on every call, and consumes nothing", async () => {
    const auth = adapter();
    const { token, context } = await startFor(auth, "ada@example.com");
    emulator.fault("request", "error", 1);
    await expectAuthError(auth.start("ada@example.com", startContext()), "unavailable");
    emulator.fault("fetch", "error", 1);
    await expectAuthError(auth.verify({ kind: "link", token }, context), "unavailable");
    emulator.fault("redeem", "error", 1);
    await expectAuthError(auth.verify({ kind: "link", token }, context), "unavailable");
    await auth.verify({ kind: "link", token }, context);
  });

  it("maps a dropped connection and a closed port to unavailable", async () => {
    const auth = adapter();
    emulator.fault("all", "unreachable", 1);
    await expectAuthError(auth.start("ada@example.com", startContext()), "unavailable");

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const nowhere = adapter({ baseUrl: `http://127.0.0.1:${port}` });
    await expectAuthError(nowhere.start("ada@example.com", startContext()), "unavailable");
  });

  it("gives up after timeoutMs and maps it to unavailable", async () => {
    // Generous numbers: a busy machine must not turn the happy start into a timeout.
    const auth = adapter({ timeoutMs: 500 });
    const { token, context } = await startFor(auth, "ada@example.com");
    emulator.fault("fetch", { delayMs: 6_000 }, 1);
    const began = Date.now();
    await expectAuthError(auth.verify({ kind: "link", token }, context), "unavailable");
    expect(Date.now() - began).toBeLessThan(4_000);
    emulator.fault("request", { delayMs: 6_000 }, 1);
    await expectAuthError(auth.start("ada@example.com", startContext()), "unavailable");
  });

  it("maps 429 to rate_limited with Retry-After", async () => {
    const auth = adapter();
    emulator.fault("request", { status: 429, headers: { "retry-after": "42" } }, 1);
    const error = await expectAuthError(
      auth.start("ada@example.com", startContext()),
      "rate_limited",
    );
    expect(error.retryAfter).toBe(42);
  });

  it("maps malformed answers to unavailable", async () => {
    for (const route of ["community_info", "sd", "request", "fetch"] as const) {
      const auth = adapter();
      if (route === "fetch") {
        const { token, context } = await startFor(auth, "ada@example.com");
        emulator.fault(route, "malformed", 1);
        await expectAuthError(auth.verify({ kind: "link", token }, context), "unavailable");
      } else {
        emulator.fault(route, "malformed", 1);
        await expectAuthError(auth.start("ada@example.com", startContext()), "unavailable");
      }
    }
    const auth = adapter();
    emulator.fault("sd", { status: 200, body: { adminconsole: "ftp://elsewhere.test" } }, 1);
    await expectAuthError(auth.start("ada@example.com", startContext()), "unavailable");
    emulator.fault("request", { status: 200, body: { code: "../x" } }, 1);
    await expectAuthError(auth.start("ada@example.com", startContext()), "unavailable");
    emulator.fault(
      "request",
      { status: 200, body: { code: "abc", emailResult: { statusCode: 500 } } },
      1,
    );
    await expectAuthError(auth.start("ada@example.com", startContext()), "unavailable");
  });

  it("talks https to {dns} when no base URL is configured", async () => {
    // Without baseUrl the adapter talks to https://{dns}; here {dns} is the emulator's own
    // http host, so the https call itself fails: unavailable, and nothing is sent anywhere.
    const auth = adapter({ baseUrl: undefined, dns: new URL(emulator.url).host });
    await expectAuthError(auth.start("ada@example.com", startContext()), "unavailable");
    expect(emulator.emails).toHaveLength(0);
  });
});

describe("BlockID adapter: community info and service directory cache", () => {
  it("fetches them once, then again after the cache lifetime", async () => {
    const auth = adapter({ cacheTtlMs: 60_000 });
    await startFor(auth, "ada@example.com");
    await startFor(auth, "bob@example.com");
    expect([countOf("community_info"), countOf("sd")]).toEqual([1, 1]);
    now += 60_001;
    await startFor(auth, "cy@example.com");
    expect([countOf("community_info"), countOf("sd")]).toEqual([2, 2]);
  });

  it("shares one in-flight fetch between parallel callers", async () => {
    const auth = adapter();
    emulator.fault("community_info", { delayMs: 50 }, 1);
    await Promise.all(
      ["a", "b", "c", "d", "e"].map((n) => auth.start(`${n}@example.com`, startContext())),
    );
    expect([countOf("community_info"), countOf("sd")]).toEqual([1, 1]);
  });

  it("does not keep a failed fetch", async () => {
    const auth = adapter();
    emulator.fault("community_info", "error", 1);
    await expectAuthError(auth.start("ada@example.com", startContext()), "unavailable");
    await startFor(auth, "ada@example.com");
    expect(countOf("community_info")).toBe(2);
  });

  it("refetches community info after the community key rotates", async () => {
    const auth = adapter();
    const { token, context } = await startFor(auth, "ada@example.com");
    emulator.rotateCommunityKey();
    // The cached key no longer matches: BlockID refuses once, and the next call heals.
    await expectAuthError(auth.verify({ kind: "link", token }, context), "misconfigured");
    expect((await auth.verify({ kind: "link", token }, context)).email).toBe("ada@example.com");
    expect(countOf("community_info")).toBe(2);
  });
});

/** The AuthError a promise rejects with, as [code, message]. */
async function refusal(promise: Promise<unknown>): Promise<[string, string]> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(isAuthError(error), `expected an AuthError, got ${String(error)}`).toBe(true);
  return [(error as { code: string }).code, (error as Error).message];
}

const routes = (name: string) => emulator.requests.filter((request) => request.route === name);

describe("BlockID adapter: each check's own answer", () => {
  it("names the option that is wrong at creation", () => {
    const base = { dns: "t.test", community: "c", licenseKey: "k" };
    const thrown = (options: Partial<BlockIdAdapterOptions>) => {
      try {
        createBlockIdAdapter({ ...base, ...options });
      } catch (error) {
        return [(error as { code: string }).code, (error as Error).message];
      }
      return "built";
    };
    const dns = [
      "misconfigured",
      "BLOCKID_DNS must be a host name such as blockid-trial.1kosmos.net",
    ];
    expect(thrown({ dns: "" })).toEqual(dns);
    expect(thrown({ dns: "t.test/x" })).toEqual(dns);
    expect(thrown({ dns: "x t.test" })).toEqual(dns);
    expect(thrown({ dns: "t.test:" })).toEqual(dns);
    expect(thrown({ dns: undefined as unknown as string })).toEqual(dns);
    expect(thrown({ dns: " t.test:8443 " })).toBe("built");
    expect(thrown({ community: " " })).toEqual(["misconfigured", "BLOCKID_COMMUNITY is required"]);
    expect(thrown({ community: undefined as unknown as string })).toEqual([
      "misconfigured",
      "BLOCKID_COMMUNITY is required",
    ]);
    expect(thrown({ licenseKey: " " })).toEqual([
      "misconfigured",
      "BLOCKID_LICENSE_KEY is required",
    ]);
    expect(thrown({ licenseKey: undefined as unknown as string })).toEqual([
      "misconfigured",
      "BLOCKID_LICENSE_KEY is required",
    ]);
    expect(thrown({ baseUrl: "not a url" })).toEqual([
      "misconfigured",
      "BLOCKID_BASE_URL is not a URL",
    ]);
    expect(thrown({ baseUrl: "ftp://t.test" })).toEqual([
      "misconfigured",
      "BLOCKID_BASE_URL must be http(s)",
    ]);
    expect(thrown({ baseUrl: "http://t.test" })).toBe("built");
    const ttl = ["misconfigured", "The BlockID link lifetime must be 1–900 seconds"];
    for (const ttlSeconds of [0, -1, 901, 1.5]) expect(thrown({ ttlSeconds })).toEqual(ttl);
    expect(thrown({ ttlSeconds: 1 })).toBe("built");
    expect(thrown({ ttlSeconds: 900 })).toBe("built");
  });

  it("asks BlockID for ten minutes by default, names the app 'the app', and trims a base URL's slashes", async () => {
    const auth = adapter({ appName: undefined, baseUrl: `${emulator.url}//` });
    await auth.start("ada@example.com", startContext());
    expect(emulator.lastEmailTo("ada@example.com")?.subject).toBe("Sign in to the app");
    expect(emulator.lastEmailTo("ada@example.com")?.html).toContain("10 minutes");
    expect(routes("community_info")[0]?.path).toBe("/api/r1/system/community_info/fetch");
  });

  it("sends the community info request BlockID expects", async () => {
    await adapter().start("ada@example.com", startContext());
    const info = routes("community_info")[0];
    expect(info?.method).toBe("POST");
    expect(JSON.parse(info?.body ?? "")).toEqual({
      dns: emulator.dns,
      communityName: emulator.community,
    });
    expect(info?.headers["content-type"]).toBe("application/json");
    expect(routes("sd")[0]?.method).toBe("GET");
  });

  it("maps each status of a failed answer", async () => {
    const start = () => refusal(adapter().start("ada@example.com", startContext()));
    emulator.fault("request", { status: 401 }, 1);
    expect(await start()).toEqual(["misconfigured", "BlockID rejected the license key or tenant"]);
    emulator.fault("request", { status: 403 }, 1);
    expect(await start()).toEqual(["misconfigured", "BlockID rejected the license key or tenant"]);
    emulator.fault("request", { status: 418 }, 1);
    expect(await start()).toEqual(["misconfigured", "BlockID refused the request (418)"]);
    emulator.fault("request", { status: 400 }, 1);
    expect(await start()).toEqual(["misconfigured", "BlockID refused the request (400)"]);
    emulator.fault("request", { status: 499 }, 1);
    expect(await start()).toEqual(["misconfigured", "BlockID refused the request (499)"]);
    emulator.fault("request", { status: 500 }, 1);
    expect(await start()).toEqual(["unavailable", "BlockID failed (500)"]);
    emulator.fault("request", { status: 300 }, 1);
    expect(await start()).toEqual(["unavailable", "BlockID failed (300)"]);
    emulator.fault("request", { status: 429 }, 1);
    expect(await start()).toEqual(["rate_limited", "BlockID asks to slow down"]);
    emulator.fault("community_info", { status: 404 }, 1);
    expect(await start()).toEqual(["misconfigured", "BlockID knows no such tenant or community"]);
    emulator.fault("sd", { status: 404 }, 1);
    expect(await start()).toEqual(["misconfigured", "BlockID refused the request (404)"]);
  });

  it("accepts any 2xx answer", async () => {
    emulator.fault("community_info", { status: 299, body: undefined }, 1);
    expect(await refusal(adapter().start("ada@example.com", startContext()))).toEqual([
      "unavailable",
      "BlockID answered community info with a malformed body",
    ]);
  });

  it("reads Retry-After as whole seconds, and ignores one it cannot read", async () => {
    const retryAfter = async (value?: string) => {
      emulator.fault(
        "request",
        { status: 429, headers: value === undefined ? {} : { "retry-after": value } },
        1,
      );
      const error = await expectAuthError(
        adapter().start("ada@example.com", startContext()),
        "rate_limited",
      );
      return error.retryAfter;
    };
    expect(await retryAfter("1.2")).toBe(2);
    expect(await retryAfter("0")).toBe(0);
    expect(await retryAfter("-1")).toBeUndefined();
    expect(await retryAfter("soon")).toBeUndefined();
    expect(await retryAfter("")).toBeUndefined();
    expect(await retryAfter()).toBeUndefined();
  });

  it("fetches community info afresh after a 401 or 403, and keeps it otherwise", async () => {
    const auth = adapter();
    await auth.start("ada@example.com", startContext());
    emulator.fault("request", { status: 403 }, 1);
    await refusal(auth.start("ada@example.com", startContext()));
    await auth.start("ada@example.com", startContext());
    expect(routes("community_info")).toHaveLength(2);
    emulator.fault("request", { status: 500 }, 1);
    await refusal(auth.start("ada@example.com", startContext()));
    await auth.start("ada@example.com", startContext());
    expect(routes("community_info")).toHaveLength(2);
  });

  it("refuses an oversized answer", async () => {
    emulator.fault("request", { status: 200, body: { code: "x".repeat(1_000_001) } }, 1);
    expect(await refusal(adapter().start("ada@example.com", startContext()))).toEqual([
      "unavailable",
      "BlockID answered with an oversized body",
    ]);
  });

  it("names the answer that is malformed", async () => {
    const start = () => refusal(adapter().start("ada@example.com", startContext()));
    const info = ["unavailable", "BlockID answered community info with a malformed body"];
    const good = {
      tenant: { tenanttag: "t" },
      community: { name: "c", publicKey: emulator.publicKey },
    };
    for (const body of [
      [],
      { ...good, tenant: "t" },
      { ...good, community: null },
      { ...good, tenant: { tenanttag: 1 } },
      { ...good, community: { name: 1, publicKey: emulator.publicKey } },
      { ...good, community: { name: "c", publicKey: 1 } },
      { ...good, community: { name: "c", publicKey: "AAAA" } },
    ]) {
      emulator.fault("community_info", { status: 200, body }, 1);
      expect(await start(), JSON.stringify(body)).toEqual(info);
    }
    const directory = [
      "unavailable",
      "BlockID answered the service directory with a malformed body",
    ];
    for (const body of [
      [],
      { adminconsole: 1 },
      { adminconsole: "not a url" },
      { adminconsole: "ftp://x.test" },
    ]) {
      emulator.fault("sd", { status: 200, body }, 1);
      expect(await start(), JSON.stringify(body)).toEqual(directory);
    }
    const request = ["unavailable", "BlockID answered the link request with a malformed body"];
    for (const body of [[], { code: 1 }, { code: ".x" }]) {
      emulator.fault("request", { status: 200, body }, 1);
      expect(await start(), JSON.stringify(body)).toEqual(request);
    }
  });

  it("takes an email result below 400 as sent, and 400 or above as not sent", async () => {
    emulator.fault(
      "request",
      { status: 200, body: { code: "abc", emailResult: { statusCode: 400 } } },
      1,
    );
    expect(await refusal(adapter().start("ada@example.com", startContext()))).toEqual([
      "unavailable",
      "BlockID could not send the email",
    ]);
    emulator.fault(
      "request",
      { status: 200, body: { code: "abc", emailResult: { statusCode: 399 } } },
      1,
    );
    expect((await adapter().start("ada@example.com", startContext())).adapter).toBe("blockid");
    emulator.fault(
      "request",
      { status: 200, body: { code: "abc", emailResult: { statusCode: "500" } } },
      1,
    );
    expect((await adapter().start("ada@example.com", startContext())).adapter).toBe("blockid");
  });

  it("maps each answer of the code lookup and of the redeem", async () => {
    const auth = adapter();
    const { token, context } = await startFor(auth, "ada@example.com");
    const verify = () => refusal(auth.verify({ kind: "link", token }, context));
    const table: [number, [string, string]][] = [
      [400, ["invalid", "BlockID refused the code"]],
      [404, ["invalid", "No such sign-in link"]],
      [409, ["used", "This sign-in link was already used"]],
      [410, ["expired", "This sign-in link has expired"]],
    ];
    for (const route of ["fetch", "redeem"] as const) {
      for (const [status, expected] of table) {
        emulator.fault(route, { status }, 1);
        expect(await verify(), `${route} ${status}`).toEqual(expected);
      }
    }
    emulator.fault("fetch", { status: 200, body: { data: 1 } }, 1);
    expect(await verify()).toEqual([
      "unavailable",
      "BlockID answered the code lookup with a malformed body",
    ]);
    // The link is still good after all of that.
    expect((await auth.verify({ kind: "link", token }, context)).email).toBe("ada@example.com");
  });

  it("fetches community info afresh when a lookup does not decrypt", async () => {
    const auth = adapter();
    const { token, context } = await startFor(auth, "ada@example.com");
    emulator.fault("fetch", "malformed", 1);
    await refusal(auth.verify({ kind: "link", token }, context));
    await auth.verify({ kind: "link", token }, context);
    expect(routes("community_info")).toHaveLength(2);
  });

  it("says why a link or a pending sign-in does not fit", async () => {
    const auth = adapter();
    const { token, context } = await startFor(auth, "ada@example.com");
    expect(
      await refusal(
        auth.verify({ kind: "code", email: "ada@example.com", code: "123456" }, context),
      ),
    ).toEqual(["invalid", "BlockID issues links only; there is no code to enter"]);
    expect(await refusal(auth.verify({ kind: "link", token: "x".repeat(2049) }, context))).toEqual([
      "invalid",
      "Malformed link",
    ]);
    expect(await refusal(auth.verify({ kind: "link", token: "https://[" }, context))).toEqual([
      "invalid",
      "Malformed link",
    ]);
    expect(
      await refusal(auth.verify({ kind: "link", token }, { ...context, ref: undefined })),
    ).toEqual(["not_same_browser", "Confirmed from another browser"]);
    expect(
      await refusal(auth.verify({ kind: "link", token }, { ...context, nonceHash: undefined })),
    ).toEqual(["not_same_browser", "Confirmed from another browser"]);
    expect(
      await refusal(auth.verify({ kind: "link", token }, { ...context, nonceHash: NONCE_B })),
    ).toEqual(["not_same_browser", "Confirmed from another browser"]);
    const [, nonce, code, email] = (context.ref ?? "").split(".");
    for (const ref of [
      `b2.${nonce}.${code}.${email}`,
      `b1.${nonce}.${code}`,
      `b1.${nonce}.${code}.${email}.x`,
      `b1.${nonce}.${code}.${email?.toUpperCase()}`,
      `b1.${nonce}.${code?.slice(1)}.${email}`,
      `b1.x${nonce}.${code}.${email}`,
    ]) {
      expect(await refusal(auth.verify({ kind: "link", token }, { ...context, ref })), ref).toEqual(
        ["invalid", "The pending sign-in is not a BlockID one"],
      );
    }
    // Untouched by all of that, the link still signs in where it started.
    expect((await auth.verify({ kind: "link", token: ` ${token} ` }, context)).email).toBe(
      "ada@example.com",
    );
  });

  it("says which other sign-in a link belongs to", async () => {
    const auth = adapter();
    const first = await startFor(auth, "ada@example.com");
    const second = await startFor(auth, "ada@example.com");
    expect(
      await refusal(auth.verify({ kind: "link", token: first.token }, second.context)),
    ).toEqual(["invalid", "A newer sign-in link replaced this one"]);
    const other = await startFor(auth, "bob@example.com");
    expect(
      await refusal(auth.verify({ kind: "link", token: other.token }, second.context)),
    ).toEqual(["not_same_browser", "This link belongs to another sign-in"]);
    emulator.setRecordEmail(second.token, "eve@example.com");
    expect(
      await refusal(auth.verify({ kind: "link", token: second.token }, second.context)),
    ).toEqual(["invalid", "The link is for another address"]);
  });

  it("gives the same id to the same address in any case, and another to another address", async () => {
    const auth = adapter();
    const a = await startFor(auth, "Ada@Example.com");
    const first = await auth.verify({ kind: "link", token: a.token }, a.context);
    const b = await startFor(auth, "ada@example.com");
    const again = await auth.verify({ kind: "link", token: b.token }, b.context);
    expect(first.id).toBe(again.id);
    expect(first.id).toMatch(/^blockid_[0-9a-f]{32}$/);
    const c = await startFor(auth, "bob@example.com");
    expect((await auth.verify({ kind: "link", token: c.token }, c.context)).id).not.toBe(first.id);
  });
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The AuthError a promise rejects with, which must carry the call's request id for the logs. */
async function logged(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(isAuthError(error), `expected an AuthError, got ${String(error)}`).toBe(true);
  expect((error as { requestId?: string }).requestId, (error as Error).message).toMatch(UUID);
  return (error as Error).message;
}

describe("BlockID adapter: what the logs and the wire carry", () => {
  it("every failed answer carries the request id", async () => {
    const start = () => logged(adapter().start("ada@example.com", startContext()));
    for (const status of [401, 418, 429, 500]) {
      emulator.fault("request", { status }, 1);
      await start();
    }
    emulator.fault("community_info", { status: 404 }, 1);
    await start();
    emulator.fault("request", { status: 200, body: { code: 1 } }, 1);
    await start();
    emulator.fault("request", { status: 200, body: { code: "x".repeat(1_000_001) } }, 1);
    await start();
    emulator.fault(
      "request",
      { status: 200, body: { code: "abc", emailResult: { statusCode: 500 } } },
      1,
    );
    await start();
    emulator.fault("request", "unreachable", 1);
    expect(await start()).toBe("BlockID could not be reached");
    const auth = adapter();
    const { token, context } = await startFor(auth, "ada@example.com");
    for (const route of ["fetch", "redeem"] as const) {
      for (const status of [400, 404, 409, 410]) {
        emulator.fault(route, { status }, 1);
        await logged(auth.verify({ kind: "link", token }, context));
      }
    }
  });

  it("keeps the cause of a failure it cannot name", async () => {
    const boom = new Error("template bug");
    const auth = adapter({
      mailTemplate: () => {
        throw boom;
      },
    });
    const error = await expectAuthError(
      auth.start("ada@example.com", startContext()),
      "unavailable",
    );
    expect((error as unknown as Error).message).toBe("BlockID failed");
    expect((error as unknown as Error).cause).toBe(boom);
  });

  it("says a template without {{MAGICLINK}} is the problem", async () => {
    const broken = adapter({ mailTemplate: () => ({ subject: "x", html: "<p>no link</p>" }) });
    expect(await refusal(broken.start("bob@example.com", startContext()))).toEqual([
      "misconfigured",
      "The BlockID email template must contain {{MAGICLINK}}",
    ]);
    expect(emulator.requests).toHaveLength(0);
  });

  it("sends JSON in UTF-8 on every call", async () => {
    const auth = adapter();
    const { token, context } = await startFor(auth, "ada@example.com");
    await auth.verify({ kind: "link", token }, context);
    for (const request of emulator.requests) {
      expect(request.headers["content-type"], request.route).toBe("application/json");
      expect(request.headers.charset, request.route).toBe("utf-8");
    }
  });

  it("keeps community info ten minutes by default", async () => {
    const auth = adapter();
    await auth.start("ada@example.com", startContext());
    now += 599_999;
    await auth.start("ada@example.com", startContext());
    expect(routes("community_info")).toHaveLength(1);
    now += 1;
    await auth.start("ada@example.com", startContext());
    expect(routes("community_info")).toHaveLength(2);
  });

  it("accepts an https base URL and a service directory with trailing slashes", async () => {
    expect(
      createBlockIdAdapter({
        dns: "t.test",
        community: "c",
        licenseKey: "k",
        baseUrl: "https://t.test",
      }).name,
    ).toBe("blockid");
    emulator.fault("sd", { status: 200, body: { adminconsole: `${emulator.url}//` } }, 1);
    const auth = adapter();
    const { token, context } = await startFor(auth, "ada@example.com");
    expect(routes("request")[0]?.path).toMatch(/^\/api\/r2\/acr\/community\/[^/]+\/code$/);
    expect((await auth.verify({ kind: "link", token }, context)).email).toBe("ada@example.com");
  });

  it("reads the code from a full link's code parameter or last path segment, up to 2048 characters", async () => {
    const auth = adapter();
    const first = await startFor(auth, "ada@example.com");
    const padded = `https://blockid.test/links/${first.token}/?pad=`;
    const long = padded + "x".repeat(2048 - padded.length);
    expect(long).toHaveLength(2048);
    expect((await auth.verify({ kind: "link", token: long }, first.context)).email).toBe(
      "ada@example.com",
    );
    const second = await startFor(auth, "ada@example.com");
    const query = `https://blockid.test/l?code=${second.token}`;
    expect((await auth.verify({ kind: "link", token: query }, second.context)).email).toBe(
      "ada@example.com",
    );
    expect(
      await refusal(auth.verify({ kind: "link", token: 42 as unknown as string }, second.context)),
    ).toEqual(["invalid", "Malformed link"]);
  });

  it("refuses a reference whose hash is longer than its own", async () => {
    const auth = adapter();
    const { token, context } = await startFor(auth, "ada@example.com");
    const [, nonce, code, email] = (context.ref ?? "").split(".");
    expect(
      await refusal(
        auth.verify({ kind: "link", token }, { ...context, ref: `b1.${nonce}0.${code}.${email}` }),
      ),
    ).toEqual(["invalid", "The pending sign-in is not a BlockID one"]);
  });

  it("AUTH_ADAPTER=blockid: BlockID sends the email, with APP_NAME and LOGIN_TTL", async () => {
    expect(blockIdAdapter.sendsMail({})).toBe(false);
    const config = parseConfig({
      AUTH_ADAPTER: "blockid",
      BLOCKID_DNS: emulator.dns,
      BLOCKID_COMMUNITY: emulator.community,
      BLOCKID_LICENSE_KEY: emulator.licenseKey,
      BLOCKID_BASE_URL: emulator.url,
      APP_NAME: "Acme",
      LOGIN_TTL: "120",
    });
    const built = createAdapter({
      config,
      store: new MemoryStore({ sweepIntervalMs: 0 }),
      mailer: new Outbox(),
      clock: () => now,
      hashKey: new Uint8Array(32),
    });
    const { token, context } = await startFor(built, "ada@example.com");
    const sent = emulator.lastEmailTo("ada@example.com");
    expect(sent?.subject).toBe("Sign in to Acme");
    expect(sent?.html).toContain("2 minutes");
    expect((await built.verify({ kind: "link", token }, context)).email).toBe("ada@example.com");
  });

  it("refuses a full link longer than 2048 characters, even with a good code", async () => {
    const auth = adapter();
    const { token, context } = await startFor(auth, "ada@example.com");
    const padded = `https://blockid.test/l?code=${token}&pad=`;
    const long = padded + "x".repeat(2049 - padded.length);
    expect(await refusal(auth.verify({ kind: "link", token: long }, context))).toEqual([
      "invalid",
      "Malformed link",
    ]);
  });

  it("derives the id from the tenant, the community and the lower-cased, trimmed address", async () => {
    const auth = adapter();
    const { token, context } = await startFor(auth, "Ada@Example.com ");
    const identity = await auth.verify({ kind: "link", token }, context);
    expect(identity.email).toBe("Ada@Example.com");
    expect(identity.id).toBe(
      `blockid_${sha256Hex(`${emulator.dns}\n${emulator.community}\nada@example.com`).slice(0, 32)}`,
    );
  });

  it("keeps community info after a lookup answer without data", async () => {
    const auth = adapter();
    const { token, context } = await startFor(auth, "ada@example.com");
    emulator.fault("fetch", { status: 200, body: { data: 1 } }, 1);
    await refusal(auth.verify({ kind: "link", token }, context));
    await auth.verify({ kind: "link", token }, context);
    expect(routes("community_info")).toHaveLength(1);
  });

  it("reads an answer of exactly 1,000,000 characters", async () => {
    // {"code":"…"} with a code too long to be one: malformed, not oversized.
    const code = "x".repeat(1_000_000 - '{"code":""}'.length);
    emulator.fault("request", { status: 200, body: { code } }, 1);
    expect(await refusal(adapter().start("ada@example.com", startContext()))).toEqual([
      "unavailable",
      "BlockID answered the link request with a malformed body",
    ]);
  });
});

describe("BlockID adapter: the code record's own checks", () => {
  it("refuses a record that is not JSON, not an object, or without a payload or an address", async () => {
    const auth = adapter();
    const { token, context } = await startFor(auth, "ada@example.com");
    const lookup = ["unavailable", "BlockID answered the code lookup with a malformed body"];
    const changes: [string, (record: Record<string, unknown>) => unknown][] = [
      ["not JSON", () => "not JSON"],
      ["null", () => null],
      ["an array", () => []],
      ["no payload", (record) => ({ ...record, accesscodepayload: undefined })],
      ["a payload that is a string", (record) => ({ ...record, accesscodepayload: "x" })],
      [
        "an address that is a number",
        (record) => ({ ...record, accesscodepayload: { otp_email: 1 } }),
      ],
      [
        "an address without @",
        (record) => ({ ...record, accesscodepayload: { otp_email: "ada" } }),
      ],
    ];
    for (const [name, change] of changes) {
      emulator.setRecord(token, change);
      expect(await refusal(auth.verify({ kind: "link", token }, context)), name).toEqual(lookup);
    }
    expect(countOf("redeem")).toBe(0);
    // Undecryptable answers clear the community key; well-encrypted nonsense does not.
    expect(routes("community_info")).toHaveLength(1);
    emulator.setRecord(token, (record) => record);
    expect((await auth.verify({ kind: "link", token }, context)).email).toBe("ada@example.com");
  });

  it("refuses a record of another type, and one already redeemed or expired, without redeeming", async () => {
    const auth = adapter();
    const { token, context } = await startFor(auth, "ada@example.com");
    const verify = () => auth.verify({ kind: "link", token }, context);
    const cases: [Record<string, unknown>, [string, string]][] = [
      [{ type: "otp" }, ["invalid", "Not a sign-in link"]],
      [{ status: "redeemed" }, ["used", "This sign-in link was already used"]],
      [{ status: "expired" }, ["expired", "This sign-in link has expired"]],
    ];
    for (const [patch, expected] of cases) {
      emulator.setRecord(token, (record) => ({ ...record, ...patch }));
      expect(await refusal(verify()), JSON.stringify(patch)).toEqual(expected);
      expect(await logged(verify()), JSON.stringify(patch)).toBe(expected[1]);
    }
    // BlockID would still have let it through: the record's word was enough.
    expect(countOf("redeem")).toBe(0);
    emulator.setRecord(token, (record) => ({ ...record, status: "active" }));
    expect((await verify()).email).toBe("ada@example.com");
  });
});

describe("BlockID adapter: the request id and the redeem", () => {
  it("stamps each request id with its clock's time in seconds", async () => {
    await emulator.close();
    await boot({ now, maxSkewSeconds: 300 });
    const auth = adapter();
    const { token, context } = await startFor(auth, "ada@example.com");
    expect((await auth.verify({ kind: "link", token }, context)).email).toBe("ada@example.com");
    // Five minutes and a second ahead of the service: refused as BlockID refuses a stale id.
    const ahead = adapter({ clock: () => now + 301_000 });
    await expectAuthError(ahead.start("ada@example.com", startContext()), "misconfigured");
  });

  it("redeems with an empty JSON object", async () => {
    const auth = adapter();
    const { token, context } = await startFor(auth, "ada@example.com");
    await auth.verify({ kind: "link", token }, context);
    expect(routes("redeem").map((request) => request.body)).toEqual(["{}"]);
  });
});

describe("BlockID adapter: https without a base URL (the operator's own tenant)", () => {
  let untrust: () => void = () => {};
  beforeEach(() => {
    untrust = trustTestCertificate();
  });
  afterEach(() => {
    untrust();
  });

  /** The emulator again, over https with the test certificate. */
  async function bootHttps(options: BlockIdEmulatorOptions = {}) {
    await emulator.close();
    await boot({ tls: testCertificate, ...options });
    expect(emulator.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  }

  /** An adapter with no base URL: it reaches `https://${dns}` itself, as in production. */
  async function tenantAdapter(options: BlockIdEmulatorOptions = {}) {
    await bootHttps(options);
    return adapter({ baseUrl: undefined });
  }

  it("signs in over https at the tenant's own host name", async () => {
    const auth = await tenantAdapter();
    const { token, context } = await startFor(auth, "ada@example.com");
    expect((await auth.verify({ kind: "link", token }, context)).email).toBe("ada@example.com");
    expect(countOf("sd")).toBe(1);
  });

  it("with an https base URL, accepts the https adminconsole its directory names", async () => {
    await bootHttps();
    const auth = adapter({ baseUrl: emulator.url });
    const { token, context } = await startFor(auth, "ada@example.com");
    expect((await auth.verify({ kind: "link", token }, context)).email).toBe("ada@example.com");
  });

  it("refuses a service directory that sends the license key over plain http", async () => {
    const auth = await tenantAdapter({
      adminconsole: (url) => url.replace(/^https:/, "http:"),
    });
    const error = await expectAuthError(
      auth.start("ada@example.com", startContext()),
      "unavailable",
    );
    expect((error as unknown as Error).message).toBe(
      "BlockID answered the service directory with a malformed body",
    );
    expect(countOf("sd")).toBe(1);
    expect(countOf("request")).toBe(0);
  });
});
