/**
 * The WorkOS SSO adapter (sso.server.ts) alone, against the emulator through the real SDK:
 * which addresses it redirects and where, the domain lookup and its cache, and each check
 * of the callback code.
 */
import { describe, expect, it } from "vitest";
import { createWorkosSsoAdapter, WORKOS_SSO } from "../../../adapters/workos/sso.server";
import { MemoryStore } from "../../../app/store/memory.server";
import type { WorkosEmulator } from "../../emulators/workos/server";
import { followMagicLink } from "../../conformance/harnesses/workos";
import { totp } from "../../emulators/workos/totp";
import { authFailure, emulatorClient, emulatorPerFile, startContext } from "./helpers";

const ADA = "ada@acme.test";
const context = { ip: "192.0.2.1", userAgent: "vitest" };
let emulator: WorkosEmulator;
emulatorPerFile((started) => (emulator = started));

function setup(options: Omit<Parameters<typeof createWorkosSsoAdapter>[0], "client"> = {}) {
  const urls: URL[] = [];
  const bodies: Record<string, unknown>[] = [];
  const { client, logged } = emulatorClient(emulator, {
    fetch: (input, init) => {
      urls.push(new URL(String(input instanceof Request ? input.url : input)));
      if (typeof init?.body === "string")
        bodies.push(JSON.parse(init.body) as Record<string, unknown>);
      return fetch(input, init);
    },
  });
  return { adapter: createWorkosSsoAdapter({ client, ...options }), urls, bodies, logged };
}

/** Through the emulated IdP: the callback code for `email` at `organizationId`. */
async function callbackCode(organizationId: string, email = ADA): Promise<string> {
  const { adapter } = setup({ domains: { [email.split("@")[1] ?? ""]: organizationId } });
  const start = await adapter.redirectFor(email, startContext);
  const callback = await followMagicLink(start?.url ?? "");
  return callback.searchParams.get("code") ?? "";
}

describe("workos-sso: set-up", () => {
  it("refuses a lookup without a store", () => {
    let thrown: unknown;
    try {
      setup({ lookup: true });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({
      code: "misconfigured",
      message: "WORKOS_SSO_LOOKUP needs a store",
    });
  });

  it("delivers nothing by email, and start says so", async () => {
    const { adapter } = setup();
    expect(adapter.delivers).toEqual({ link: false, code: false });
    const error = await authFailure(adapter.start(ADA, startContext));
    expect([error.code, error.message]).toEqual([
      "invalid_input",
      "Single sign-on starts with a redirect, not an email",
    ]);
  });
});

describe("workos-sso: redirectFor", () => {
  it("sends a configured domain, whatever its case, to its organization's authorization URL", async () => {
    const { id } = emulator.addOrganization({ domains: ["acme.test"] });
    const { adapter, urls } = setup({ domains: { "Acme.Test": id } });
    const start = await adapter.redirectFor("Ada@ACME.test", startContext);
    expect(start).toMatchObject({ ref: id, adapter: WORKOS_SSO, match: "domain" });
    const url = new URL(start?.url ?? "");
    expect(`${url.origin}${url.pathname}`).toBe(`${emulator.url}/user_management/authorize`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      client_id: emulator.clientId,
      organization_id: id,
      login_hint: "Ada@ACME.test",
      redirect_uri: startContext.callbackUrl,
      state: startContext.state,
    });
    expect(urls).toHaveLength(0);
  });

  it("reads the domain after the last @", async () => {
    const { id } = emulator.addOrganization({ domains: ["acme.test"] });
    const { adapter } = setup({ domains: { "acme.test": id } });
    expect((await adapter.redirectFor('"a@other.test"@acme.test', startContext))?.ref).toBe(id);
    expect(await adapter.redirectFor("a@acme.test@other.test", startContext)).toBeNull();
  });

  it("answers null for a domain not configured, without asking WorkOS unless told to", async () => {
    emulator.addOrganization({ domains: ["acme.test"] });
    const { adapter, urls } = setup({ domains: { "other.test": "org_other" } });
    expect(await adapter.redirectFor(ADA, startContext)).toBeNull();
    expect(urls).toHaveLength(0);
  });

  it("looks up a verified domain with an active connection, ten at a time, and caches it", async () => {
    const { id } = emulator.addOrganization({ domains: ["acme.test"] });
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    const { adapter, urls } = setup({ lookup: true, store });
    expect((await adapter.redirectFor(ADA, startContext))?.ref).toBe(id);
    expect(urls.map((url) => url.pathname)).toEqual(["/organizations", "/connections"]);
    expect(urls[0]?.searchParams.get("domains")).toBe("acme.test");
    expect(urls[0]?.searchParams.get("limit")).toBe("10");
    expect(urls[1]?.searchParams.get("organization_id")).toBe(id);
    expect(urls[1]?.searchParams.get("limit")).toBe("10");
    expect(await store.get("workos-sso:domain:acme.test")).toBe(id);
    expect((await adapter.redirectFor("grace@acme.test", startContext))?.ref).toBe(id);
    expect(urls).toHaveLength(2);
  });

  it("caches a no for the cache period, and asks again after it", async () => {
    let now = 1_000_000;
    const store = new MemoryStore({ sweepIntervalMs: 0, clock: () => now });
    const { adapter, urls } = setup({ lookup: true, store, cacheSeconds: 60 });
    expect(await adapter.redirectFor(ADA, startContext)).toBeNull();
    expect(await store.get("workos-sso:domain:acme.test")).toBe("");
    expect(await adapter.redirectFor(ADA, startContext)).toBeNull();
    expect(urls).toHaveLength(1);
    now += 59_999;
    await adapter.redirectFor(ADA, startContext);
    expect(urls).toHaveLength(1);
    now += 1;
    const { id } = emulator.addOrganization({ domains: ["acme.test"] });
    expect((await adapter.redirectFor(ADA, startContext))?.ref).toBe(id);
  });

  it("keeps a lookup ten minutes by default", async () => {
    let now = 1_000_000;
    const store = new MemoryStore({ sweepIntervalMs: 0, clock: () => now });
    const { adapter, urls } = setup({ lookup: true, store });
    await adapter.redirectFor(ADA, startContext);
    now += 599_999;
    await adapter.redirectFor(ADA, startContext);
    expect(urls).toHaveLength(1);
    now += 1;
    await adapter.redirectFor(ADA, startContext);
    expect(urls).toHaveLength(2);
  });

  it("passes over an organization without an active connection", async () => {
    emulator.addOrganization({ domains: ["acme.test"], connection: "inactive" });
    emulator.addOrganization({ domains: ["acme.test"], connection: "none" });
    const { adapter } = setup({ lookup: true, store: new MemoryStore({ sweepIntervalMs: 0 }) });
    expect(await adapter.redirectFor(ADA, startContext)).toBeNull();
    const { id } = emulator.addOrganization({ domains: ["acme.test"] });
    const again = setup({ lookup: true, store: new MemoryStore({ sweepIntervalMs: 0 }) });
    expect((await again.adapter.redirectFor(ADA, startContext))?.ref).toBe(id);
  });

  it("a configured domain needs no lookup", async () => {
    const { adapter, urls } = setup({
      lookup: true,
      store: new MemoryStore({ sweepIntervalMs: 0 }),
      domains: { "acme.test": "org_configured" },
    });
    expect((await adapter.redirectFor(ADA, startContext))?.ref).toBe("org_configured");
    expect(urls).toHaveLength(0);
  });

  it("a lookup WorkOS cannot answer is null (the email sign-in instead), logged, not cached", async () => {
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    const { adapter, logged } = setup({ lookup: true, store });
    emulator.failNext("/organizations", { status: 500 });
    expect(await adapter.redirectFor(ADA, startContext)).toBeNull();
    expect(logged.map((entry) => [entry.operation, entry.mappedTo])).toEqual([
      ["start", "unavailable"],
    ]);
    expect(await store.get("workos-sso:domain:acme.test")).toBeNull();
  });
});

describe("workos-sso: verify", () => {
  it("the callback code signs in as the WorkOS user with its session", async () => {
    const { id } = emulator.addOrganization({ domains: ["acme.test"] });
    const code = await callbackCode(id);
    const { adapter } = setup();
    const identity = await adapter.verify(
      { kind: "callback", code: ` ${code} ` },
      { ...context, ref: id },
    );
    expect(identity).toMatchObject({ email: ADA, adapter: WORKOS_SSO, provider: "workos" });
    expect(identity.providerSession?.id).toBe(emulator.userSessions(ADA)[0]?.id);
  });

  it("refuses a sign-in that came back from another organization than the browser's", async () => {
    const { id } = emulator.addOrganization({ domains: ["acme.test"] });
    const code = await callbackCode(id);
    const error = await authFailure(
      setup().adapter.verify({ kind: "callback", code }, { ...context, ref: "org_elsewhere" }),
    );
    expect([error.code, error.message]).toEqual([
      "invalid",
      "The sign-in came back from another organization",
    ]);
  });

  it("without a ref to compare with, takes the organization WorkOS names", async () => {
    const { id } = emulator.addOrganization({ domains: ["acme.test"] });
    const code = await callbackCode(id);
    expect((await setup().adapter.verify({ kind: "callback", code }, context)).email).toBe(ADA);
  });

  it("refuses proofs it does not issue and malformed codes, before asking WorkOS", async () => {
    const { adapter, urls } = setup();
    const other = await authFailure(adapter.verify({ kind: "link", token: "t" }, context));
    expect([other.code, other.message]).toEqual([
      "invalid",
      "This adapter verifies callback codes only",
    ]);
    for (const code of [undefined, "", "  ", 7, "c".repeat(513)]) {
      const error = await authFailure(adapter.verify({ kind: "callback", code } as never, context));
      expect([error.code, error.message], String(code)).toEqual([
        "invalid",
        "Malformed callback code",
      ]);
    }
    expect(urls).toHaveLength(0);
    await authFailure(adapter.verify({ kind: "callback", code: "c".repeat(512) }, context));
    expect(urls.map((url) => url.pathname)).toEqual(["/user_management/authenticate"]);
  });

  it("sends its own clientId when given one", async () => {
    const { id } = emulator.addOrganization({ domains: ["acme.test"] });
    const code = await callbackCode(id);
    const { adapter } = setup({ clientId: "client_someone_else" });
    expect((await authFailure(adapter.verify({ kind: "callback", code }, context))).code).toBe(
      "misconfigured",
    );
  });

  it("a required second factor is finished with the authenticator's code, as this adapter", async () => {
    emulator.setMfa("required");
    const { id } = emulator.addOrganization({ domains: ["acme.test"] });
    const code = await callbackCode(id);
    const { adapter, bodies } = setup({ appName: "Acme" });
    const asked = await authFailure(adapter.verify({ kind: "callback", code }, context));
    expect(asked.code).toBe("second_factor_required");
    expect(bodies.find((body) => body.type === "totp")?.totp_issuer).toBe("Acme");
    const step = asked.secondFactor;
    const identity = await adapter.verifySecondFactor(
      step?.state ?? "",
      totp(step?.enrollment?.secret ?? "", emulator.now()),
      context,
    );
    expect(identity).toMatchObject({ email: ADA, adapter: WORKOS_SSO });
  });

  it("names the authenticator entry 'the app' when no appName is given", async () => {
    emulator.setMfa("required");
    const { id } = emulator.addOrganization({ domains: ["acme.test"] });
    const code = await callbackCode(id);
    const { adapter, bodies } = setup();
    expect((await authFailure(adapter.verify({ kind: "callback", code }, context))).code).toBe(
      "second_factor_required",
    );
    expect(bodies.find((body) => body.type === "totp")?.totp_issuer).toBe("the app");
  });
});

describe("workos-sso: which organization a lookup takes", () => {
  const at = new Date().toISOString();
  const organization = (id: string, domains: [string, string][]) => ({
    object: "organization",
    id,
    name: id,
    allow_profiles_outside_organization: false,
    domains: domains.map(([domain, state], i) => ({
      object: "organization_domain",
      id: `org_domain_${id}_${i}`,
      domain,
      organization_id: id,
      state,
      verification_strategy: "dns",
      created_at: at,
      updated_at: at,
    })),
    external_id: null,
    metadata: {},
    created_at: at,
    updated_at: at,
  });

  it("only one that has the address's domain itself verified", async () => {
    // Each has an active connection; WorkOS's list is what decides.
    for (const id of ["org_pending", "org_other", "org_good"]) {
      emulator.addOrganization({ id, domains: [`${id}.test`] });
    }
    emulator.failNext("/organizations", {
      status: 200,
      body: {
        object: "list",
        data: [
          organization("org_pending", [["acme.test", "pending"]]),
          organization("org_other", [["other.test", "verified"]]),
          organization("org_good", [
            ["other.test", "verified"],
            ["acme.test", "verified"],
          ]),
        ],
        list_metadata: { before: null, after: null },
      },
    });
    const { adapter, urls } = setup({
      lookup: true,
      store: new MemoryStore({ sweepIntervalMs: 0 }),
    });
    expect((await adapter.redirectFor(ADA, startContext))?.ref).toBe("org_good");
    expect(
      urls
        .filter((url) => url.pathname === "/connections")
        .map((url) => url.searchParams.get("organization_id")),
    ).toEqual(["org_good"]);
  });
});
