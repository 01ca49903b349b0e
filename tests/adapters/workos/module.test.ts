/**
 * The three WorkOS adapter modules (workos/module.server.ts) alone: the variables they
 * read, and what `create` builds from them, checked against the emulator.
 */
import { describe, expect, it } from "vitest";
import { createAdapter } from "../../../adapters/registry";
import type { AuthAdapter } from "../../../adapters/types";
import { ConfigError, parseConfig } from "../../../app/config.server";
import { systemClock } from "../../../app/lib/clock";
import { Outbox } from "../../../app/mail/outbox.server";
import { MemoryStore } from "../../../app/store/memory.server";
import type { WorkosEmulator } from "../../emulators/workos/server";
import { authFailure, emulatorPerFile, startContext } from "./helpers";

let emulator: WorkosEmulator;
emulatorPerFile((started) => (emulator = started));

const ADA = "ada@example.com";

function env(adapter: string, extra: Record<string, string> = {}) {
  return {
    AUTH_ADAPTER: adapter,
    WORKOS_API_KEY: emulator.apiKey,
    WORKOS_CLIENT_ID: emulator.clientId,
    WORKOS_API_URL: emulator.url,
    APP_NAME: "Acme",
    ...extra,
  };
}

function build(adapter: string, extra: Record<string, string> = {}) {
  const config = parseConfig(env(adapter, extra));
  const outbox = new Outbox();
  const store = new MemoryStore({ sweepIntervalMs: 0 });
  const built: AuthAdapter = createAdapter({
    config,
    store,
    mailer: outbox,
    clock: systemClock,
    hashKey: new Uint8Array(32),
  });
  return { adapter: built, config, outbox, store };
}

function problemsOf(values: Record<string, string>): string[] {
  try {
    parseConfig(values);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
}

describe("WORKOS_SSO_DOMAINS", () => {
  it("reads domain:organization pairs, the domain lower-cased, blanks between commas skipped", () => {
    const { config } = build("workos", {
      WORKOS_SSO_DOMAINS: " Acme.Test:org_01ABC , ,sub.example.org:org_2,",
    });
    expect(config.adapterVariables.WORKOS_SSO_DOMAINS).toEqual({
      "acme.test": "org_01ABC",
      "sub.example.org": "org_2",
    });
  });

  for (const entry of [
    "acme.test",
    "acme:org_1",
    "acme.test:org_",
    "acme.test:conn_1",
    "acme.test:org_1x!",
    "x acme.test:org_1",
    "acme.test:org_1:org_2",
    ".acme.test:org_1",
  ]) {
    it(`refuses ${JSON.stringify(entry)}, naming it`, () => {
      expect(problemsOf(env("workos", { WORKOS_SSO_DOMAINS: `ok.test:org_1,${entry}` }))).toEqual([
        `WORKOS_SSO_DOMAINS must be domain:organization pairs separated by commas, like example.com:org_01H… (got ${JSON.stringify(entry)})`,
      ]);
    });
  }
});

describe("the WorkOS modules build", () => {
  it("workos-magic-link: Magic Link against WORKOS_API_URL, WorkOS's own email by default", async () => {
    const { adapter, config, outbox } = build("workos-magic-link");
    expect(config.appSendsMail).toBe(false);
    expect(adapter.name).toBe("workos-magic-link");
    expect(adapter.redirectFor).toBeUndefined();
    expect((await adapter.start(ADA, startContext)).delivered).toEqual({ link: true, code: false });
    expect(emulator.lastEmailTo(ADA)?.kind).toBe("magic_link");
    expect(outbox.list()).toHaveLength(0);
  });

  it("workos-magic-auth with WORKOS_EMAIL=app: the app mails the code under APP_NAME", async () => {
    const { adapter, config, outbox } = build("workos-magic-auth", { WORKOS_EMAIL: "app" });
    expect(config.appSendsMail).toBe(true);
    expect(adapter.name).toBe("workos-magic-auth");
    expect((await adapter.start(ADA, startContext)).delivered).toEqual({ link: false, code: true });
    expect(outbox.latestTo(ADA)?.subject).toBe("Sign in to Acme");
  });

  it("workos: Magic Link with Magic Auth behind it, sharing one client", async () => {
    const { adapter, config } = build("workos", { WORKOS_EMAIL: "app" });
    expect(config.appSendsMail).toBe(true);
    expect(adapter.name).toBe("workos");
    expect(typeof adapter.sendCode).toBe("function");
    emulator.failNext("/passwordless/sessions", { status: 404, times: 2 });
    expect((await adapter.start(ADA, startContext)).adapter).toBe("workos-magic-auth");
  });

  it("uses WORKOS_MAX_RETRIES and WORKOS_TIMEOUT_MS for its client", async () => {
    const once = build("workos-magic-auth", { WORKOS_MAX_RETRIES: "0" }).adapter;
    emulator.failNext("/user_management/magic_auth", { status: 503 });
    expect((await authFailure(once.start(ADA, startContext))).code).toBe("unavailable");
    const twice = build("workos-magic-auth", { WORKOS_MAX_RETRIES: "1" }).adapter;
    emulator.failNext("/user_management/magic_auth", { status: 503 });
    expect((await twice.start(ADA, startContext)).adapter).toBe("workos-magic-auth");
    const impatient = build("workos-magic-auth", { WORKOS_TIMEOUT_MS: "100" }).adapter;
    emulator.failNext("/user_management/magic_auth", { delayMs: 60_000 });
    const began = Date.now();
    expect((await authFailure(impatient.start(ADA, startContext))).code).toBe("unavailable");
    expect(Date.now() - began).toBeLessThan(5_000);
  });

  for (const name of ["workos-magic-link", "workos-magic-auth", "workos"]) {
    it(`${name}: SSO domains add the redirect; a lookup alone does too, through the store`, async () => {
      const { id } = emulator.addOrganization({ domains: ["acme.test"] });
      const configured = build(name, { WORKOS_SSO_DOMAINS: `acme.test:${id}` }).adapter;
      expect(configured.name).toBe(name);
      expect((await configured.redirectFor?.("ada@acme.test", startContext))?.ref).toBe(id);
      const looked = build(name, { WORKOS_SSO_LOOKUP: "1" });
      expect((await looked.adapter.redirectFor?.("ada@acme.test", startContext))?.ref).toBe(id);
      expect(await looked.store.get("workos-sso:domain:acme.test")).toBe(id);
    });
  }
});

describe("the WorkOS variables", () => {
  const base = {
    AUTH_ADAPTER: "workos",
    WORKOS_API_KEY: "sk_test_1",
    WORKOS_CLIENT_ID: "client_1",
  };

  it("default to WorkOS's API, 10 s, two retries and WorkOS's own email", () => {
    expect(parseConfig(base).adapterVariables).toMatchObject({
      WORKOS_API_URL: "https://api.workos.com",
      WORKOS_TIMEOUT_MS: 10_000,
      WORKOS_MAX_RETRIES: 2,
      WORKOS_EMAIL: "workos",
      WORKOS_SSO_DOMAINS: {},
      WORKOS_SSO_LOOKUP: false,
    });
    expect(parseConfig({ ...base, WORKOS_EMAIL: "workos" }).adapterVariables.WORKOS_EMAIL).toBe(
      "workos",
    );
  });

  it("bound the timeout (100 ms to a minute) and the retries (0 to 5)", () => {
    expect(problemsOf({ ...base, WORKOS_TIMEOUT_MS: "99" }).join("\n")).toMatch(
      /^WORKOS_TIMEOUT_MS .*milliseconds/,
    );
    expect(problemsOf({ ...base, WORKOS_TIMEOUT_MS: "60001" })).toHaveLength(1);
    expect(problemsOf({ ...base, WORKOS_TIMEOUT_MS: "60000", WORKOS_MAX_RETRIES: "5" })).toEqual(
      [],
    );
    expect(problemsOf({ ...base, WORKOS_MAX_RETRIES: "6" }).join("\n")).toMatch(
      /^WORKOS_MAX_RETRIES /,
    );
    expect(problemsOf({ ...base, WORKOS_MAX_RETRIES: "-1" })).toHaveLength(1);
  });
});
