import { describe, expect, it } from "vitest";
import { AuthError } from "../../adapters/errors";
import { defineAdapter } from "../../adapters/module";
import { ADAPTER_NAMES, ADAPTERS, createAdapter } from "../../adapters/registry";
import type { AuthAdapter } from "../../adapters/types";
import { ConfigError, parseConfig } from "../../app/config.server";
import { systemClock } from "../../app/lib/clock";
import { integer, oneOf, parsed, secret, url } from "../../app/lib/variables";
import { Outbox } from "../../app/mail/outbox.server";
import { MemoryStore } from "../../app/store/memory.server";

/**
 * What adapters/README.md promises a team: a new adapter is its module (name, variables,
 * capabilities) plus one registry line; app/config.server.ts is not touched.
 */
const seen: unknown[] = [];
const acme = defineAdapter({
  name: "acme",
  variables: {
    ACME_API_KEY: secret({ required: true }),
    ACME_REGION: oneOf(["eu", "us"], { default: "eu" }),
    ACME_US_ENDPOINT: url({ protocols: ["https:"] }),
    ACME_TIMEOUT_MS: integer({ default: 5000, min: 100, max: 60_000, unit: "milliseconds" }),
  },
  impliedBy: "ACME_API_KEY",
  check: (values) =>
    parsed(values, "ACME_REGION", "ACME_US_ENDPOINT") &&
    values.ACME_REGION === "us" &&
    !values.ACME_US_ENDPOINT
      ? ["ACME_US_ENDPOINT is required when ACME_REGION=us"]
      : [],
  sendsMail: () => false,
  create: (_deps, values): AuthAdapter => {
    seen.push(values);
    return {
      name: "acme",
      delivers: { link: true, code: false },
      start: async () => {
        throw new AuthError("unavailable");
      },
      verify: async () => {
        throw new AuthError("invalid");
      },
    };
  },
});

const adapters = [...ADAPTERS, acme];

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig(env, { adapters });
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
}

describe("adapter modules", () => {
  it("a module's variables, defaults, cross-field checks and capabilities reach the configuration", () => {
    expect(problemsOf({ AUTH_ADAPTER: "acme" })).toEqual([
      "ACME_API_KEY is required for AUTH_ADAPTER=acme",
    ]);
    expect(problemsOf({ ACME_API_KEY: "k", ACME_REGION: "us", ACME_TIMEOUT_MS: "1.5" })).toEqual([
      'ACME_TIMEOUT_MS must be a whole number of milliseconds (got "1.5")',
      "ACME_US_ENDPOINT is required when ACME_REGION=us",
    ]);
    // Chosen by its impliedBy variable; the provider sends the mail, so production needs
    // no MAIL_TRANSPORT.
    const config = parseConfig(
      {
        NODE_ENV: "production",
        APP_ORIGIN: "https://app.example",
        SESSION_SECRETS: "s".repeat(40),
        ACME_API_KEY: "key",
      },
      { adapters },
    );
    expect(config).toMatchObject({
      adapter: "acme",
      appSendsMail: false,
      adapterVariables: { ACME_API_KEY: "key", ACME_REGION: "eu", ACME_TIMEOUT_MS: 5000 },
    });
    const adapter = acme.create(
      {
        config,
        store: new MemoryStore({ sweepIntervalMs: 0 }),
        mailer: new Outbox(),
        clock: systemClock,
        hashKey: new Uint8Array(32),
      },
      config.adapterVariables,
    );
    expect(adapter.name).toBe("acme");
    expect(seen.at(-1)).toEqual(config.adapterVariables);
  });

  it("the registry lists unique names, builds the configured one, and documents every one", async () => {
    expect(new Set(ADAPTER_NAMES).size).toBe(ADAPTER_NAMES.length);
    const config = parseConfig({ LOGIN_TTL: "120" });
    const store = new MemoryStore({ sweepIntervalMs: 0 });
    const adapter = createAdapter({
      config,
      store,
      mailer: new Outbox(),
      clock: systemClock,
      hashKey: new Uint8Array(32),
    });
    expect(adapter).toMatchObject({ name: "local", delivers: { link: true, code: true } });
    await store.close();
    const { readFile } = await import("node:fs/promises");
    const readme = await readFile(new URL("../../adapters/README.md", import.meta.url), "utf8");
    const envExample = await readFile(new URL("../../.env.example", import.meta.url), "utf8");
    for (const name of ADAPTER_NAMES) {
      expect(readme, `adapters/README.md row for ${name}`).toMatch(
        new RegExp(`^\\| \`${name}\` \\|`, "m"),
      );
      expect(envExample, `.env.example lists ${name}`).toContain(name);
    }
  });
});
