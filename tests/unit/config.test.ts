import { describe, expect, it } from "vitest";
import { ADAPTER_NAMES, ADAPTERS } from "../../adapters/registry";
import { ConfigError, DEV_SESSION_SECRET, parseConfig } from "../../app/config.server";

/** The problems `env` is refused with (none when it parses). */
function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
}

const SECRET = "x".repeat(40);

describe("configuration", () => {
  it("works with nothing set in development: local adapter, outbox, dev secret", () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      production: false,
      appOrigin: "http://localhost:5173",
      adapter: "local",
      loginTtlSeconds: 600,
      sessionMaxAgeSeconds: 604_800,
      sessionIdleTimeoutSeconds: 86_400,
      mail: { transport: "outbox" },
      usingDevSecret: true,
      secure: false,
    });
    expect(config.sessionSecrets).toEqual([DEV_SESSION_SECRET]);
  });

  it("in production names every missing variable in one error", () => {
    try {
      parseConfig({ NODE_ENV: "production" });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const { problems } = error as ConfigError;
      expect(problems.join("\n")).toMatch(/APP_ORIGIN/);
      expect(problems.join("\n")).toMatch(/SESSION_SECRETS/);
      expect(problems.join("\n")).toMatch(/MAIL_TRANSPORT/);
    }
  });

  it("refuses malformed values, each by name", () => {
    const problems = (() => {
      try {
        parseConfig({
          APP_ORIGIN: "https://x.com/path",
          SESSION_MAX_AGE: "-5",
          LOGIN_TTL: "3600",
          AUTH_ADAPTER: "nope",
          SESSION_SECRETS: "short",
        });
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    })();
    const text = problems.join("\n");
    for (const name of [
      "APP_ORIGIN",
      "SESSION_MAX_AGE",
      "LOGIN_TTL",
      "AUTH_ADAPTER",
      "SESSION_SECRETS",
    ])
      expect(text).toContain(name);
  });

  it("keeps state in SQLite by default: DATA_DIR ./.data in development, ./data in production", () => {
    expect(parseConfig({})).toMatchObject({ store: "sqlite", dataDir: "./.data" });
    const production = parseConfig({
      NODE_ENV: "production",
      APP_ORIGIN: "https://app.example.com",
      SESSION_SECRETS: SECRET,
      MAIL_TRANSPORT: "smtp",
      SMTP_URL: "smtp://127.0.0.1:25",
      MAIL_FROM: "a@example.com",
    });
    expect(production).toMatchObject({ store: "sqlite", dataDir: "./data" });
    expect(parseConfig({ DATA_DIR: "/var/lib/app" })).toMatchObject({ dataDir: "/var/lib/app" });
  });

  it("uses Redis when REDIS_URL is set, memory only when STORE=memory asks for it", () => {
    expect(parseConfig({ REDIS_URL: "redis://127.0.0.1:6379" })).toMatchObject({ store: "redis" });
    expect(parseConfig({ STORE: "memory" })).toMatchObject({ store: "memory" });
    expect(() => parseConfig({ STORE: "disk" })).toThrow(/STORE/);
    expect(() => parseConfig({ STORE: "redis" })).toThrow(/REDIS_URL is required when STORE=redis/);
  });

  it("reads LOGIN_GRACE (0–600 s, default 600) and RATE_LIMIT_WINDOW (60–86400 s, default 3600)", () => {
    expect(parseConfig({})).toMatchObject({ loginGraceSeconds: 600, rateLimitWindowSeconds: 3600 });
    expect(parseConfig({ LOGIN_GRACE: "0", RATE_LIMIT_WINDOW: "60" })).toMatchObject({
      loginGraceSeconds: 0,
      rateLimitWindowSeconds: 60,
    });
    expect(parseConfig({ LOGIN_GRACE: "600", RATE_LIMIT_WINDOW: "86400" })).toMatchObject({
      loginGraceSeconds: 600,
      rateLimitWindowSeconds: 86_400,
    });
    for (const [name, value] of [
      ["LOGIN_GRACE", "-1"],
      ["LOGIN_GRACE", "601"],
      ["LOGIN_GRACE", "1.5"],
      ["LOGIN_GRACE", "soon"],
      ["RATE_LIMIT_WINDOW", "59"],
      ["RATE_LIMIT_WINDOW", "86401"],
      ["RATE_LIMIT_WINDOW", "0"],
    ] as const) {
      expect(() => parseConfig({ [name]: value }), `${name}=${value}`).toThrow(name);
    }
  });

  it("keeps the outbox out of production unless explicitly opted in", () => {
    const base = {
      NODE_ENV: "production",
      APP_ORIGIN: "https://app.example",
      SESSION_SECRETS: SECRET,
    };
    expect(() => parseConfig({ ...base, MAIL_TRANSPORT: "outbox" })).toThrow(
      /ALLOW_OUTBOX_IN_PRODUCTION/,
    );
    expect(
      parseConfig({ ...base, MAIL_TRANSPORT: "outbox", ALLOW_OUTBOX_IN_PRODUCTION: "1" }).mail
        .transport,
    ).toBe("outbox");
    expect(() => parseConfig({ ...base, MAIL_TRANSPORT: "smtp" })).toThrow(
      /SMTP_URL[\s\S]*MAIL_FROM|MAIL_FROM[\s\S]*SMTP_URL/,
    );
  });

  it("takes MAIL_FROM as an address or Name <address>, and refuses anything else at start", () => {
    const smtp = { MAIL_TRANSPORT: "smtp", SMTP_URL: "smtp://127.0.0.1:25" };
    for (const from of [
      "login@example.com",
      "Sign in <login@example.com>",
      '"A, B" <a@example.com>',
    ])
      expect(parseConfig({ ...smtp, MAIL_FROM: from }).mail.from).toBe(from);
    for (const from of ["Sign in", "login@example.com, other@example.com", "<login@example.com"])
      expect(() => parseConfig({ ...smtp, MAIL_FROM: from }), from).toThrow(
        /MAIL_FROM must be an address or "Name <address>"/,
      );
  });

  it("chooses workos when an API key is set, and requires the client id with it", () => {
    expect(() => parseConfig({ WORKOS_API_KEY: "sk_test" })).toThrow(/WORKOS_CLIENT_ID/);
    expect(parseConfig({ WORKOS_API_KEY: "sk_test", WORKOS_CLIENT_ID: "client_1" }).adapter).toBe(
      "workos",
    );
  });

  it("marks https origins secure and splits secrets for rotation", () => {
    const config = parseConfig({
      APP_ORIGIN: "https://app.example",
      SESSION_SECRETS: `${SECRET}, ${"y".repeat(40)}`,
    });
    expect(config.secure).toBe(true);
    expect(config.sessionSecrets).toEqual([SECRET, "y".repeat(40)]);
  });

  it("words every problem as a sentence that starts with the variable and shows what it got", () => {
    expect(problemsOf({ SESSION_MAX_AGE: "abc" })).toEqual([
      'SESSION_MAX_AGE must be a whole number of seconds (got "abc")',
    ]);
    expect(problemsOf({ LOGIN_TTL: "3600" })).toEqual([
      'LOGIN_TTL must be between 1 and 900 seconds (got "3600")',
    ]);
    expect(problemsOf({ SESSION_IDLE_TIMEOUT: "0" })).toEqual([
      'SESSION_IDLE_TIMEOUT must be at least 1 second (got "0")',
    ]);
    expect(problemsOf({ AUTH_ADAPTER: "nope" })).toEqual([
      `AUTH_ADAPTER must be ${ADAPTER_NAMES.slice(0, -1).join(", ")} or ${ADAPTER_NAMES.at(-1)} (got "nope")`,
    ]);
    expect(problemsOf({ MAIL_TRANSPORT: "smpt" })).toEqual([
      'MAIL_TRANSPORT must be outbox or smtp (got "smpt")',
    ]);
    expect(problemsOf({ ALLOW_OUTBOX_IN_PRODUCTION: "yes" })).toEqual([
      'ALLOW_OUTBOX_IN_PRODUCTION must be 1 or 0 (got "yes")',
    ]);
  });

  it("never answers in zod's words, for any malformed variable of the app or of any adapter", () => {
    const core = ["APP_ORIGIN", "SESSION_SECRETS", "LOGIN_HASH_SECRET", "SESSION_MAX_AGE"];
    const more = ["LOGIN_TTL", "LOGIN_GRACE", "MAIL_TRANSPORT", "SMTP_URL", "REDIS_URL", "PORT"];
    for (const module of ADAPTERS) {
      const env: Record<string, string> = { AUTH_ADAPTER: module.name };
      for (const name of [...core, ...more, ...Object.keys(module.variables)]) {
        env[name] = "§bad value§";
      }
      const problems = problemsOf(env);
      for (const name of [...core, ...more]) {
        expect(
          problems.some((p) => p.startsWith(`${name} `)),
          `${module.name}: ${name}`,
        ).toBe(true);
      }
      for (const problem of problems) {
        expect(problem).toMatch(/^[A-Z][A-Z0-9_]+ (must|is|needs) /);
        expect(problem).not.toMatch(/Invalid input|expected|received|NaN/);
      }
    }
  });

  it("never echoes a secret or a URL that may carry a password", () => {
    const text = problemsOf({
      SESSION_SECRETS: "hunter2-session",
      LOGIN_HASH_SECRET: "hunter2-hash",
      SMTP_URL: "http://user:hunter2@mail.example",
      REDIS_URL: "http://user:hunter2@redis.example",
      AUTH_ADAPTER: "workos",
      WORKOS_API_KEY: "sk_hunter2",
      WORKOS_CLIENT_ID: "client_1",
    }).join("\n");
    expect(text).toMatch(/SESSION_SECRETS[\s\S]*LOGIN_HASH_SECRET[\s\S]*SMTP_URL[\s\S]*REDIS_URL/);
    expect(text).not.toContain("hunter2");
  });

  it("reads an adapter's variables only when it is chosen, and says which adapter needs them", () => {
    expect(problemsOf({ WORKOS_API_URL: "not a url", BLOCKID_BASE_URL: "ftp://x" })).toEqual([]);
    expect(problemsOf({ AUTH_ADAPTER: "workos-magic-auth", WORKOS_API_URL: "not a url" })).toEqual([
      "WORKOS_API_KEY is required for AUTH_ADAPTER=workos-magic-auth",
      "WORKOS_CLIENT_ID is required for AUTH_ADAPTER=workos-magic-auth",
      'WORKOS_API_URL must be an origin like https://api.workos.com or http://127.0.0.1:8787, with no path (got "not a url")',
    ]);
    expect(problemsOf({ WORKOS_API_KEY: "sk_test" })).toEqual([
      "WORKOS_CLIENT_ID is required for AUTH_ADAPTER=workos (chosen because WORKOS_API_KEY is set)",
    ]);
    expect(problemsOf({ AUTH_ADAPTER: "blockid" })).toEqual([
      "BLOCKID_DNS is required for AUTH_ADAPTER=blockid",
      "BLOCKID_COMMUNITY is required for AUTH_ADAPTER=blockid",
      "BLOCKID_LICENSE_KEY is required for AUTH_ADAPTER=blockid",
    ]);
    const blockid = parseConfig({
      AUTH_ADAPTER: "blockid",
      BLOCKID_DNS: "tenant.example",
      BLOCKID_COMMUNITY: "default",
      BLOCKID_LICENSE_KEY: "license",
    });
    expect(blockid.adapterVariables).toEqual({
      BLOCKID_DNS: "tenant.example",
      BLOCKID_COMMUNITY: "default",
      BLOCKID_LICENSE_KEY: "license",
      BLOCKID_BASE_URL: undefined,
    });
  });

  it("asks for a mail transport in production only when the adapter's module says the app sends mail", () => {
    const production = {
      NODE_ENV: "production",
      APP_ORIGIN: "https://app.example",
      SESSION_SECRETS: SECRET,
    };
    const workos = { WORKOS_API_KEY: "sk_live", WORKOS_CLIENT_ID: "client_1" };
    const blockid = {
      AUTH_ADAPTER: "blockid",
      BLOCKID_DNS: "tenant.example",
      BLOCKID_COMMUNITY: "default",
      BLOCKID_LICENSE_KEY: "license",
    };
    const required = "MAIL_TRANSPORT is required in production (smtp)";
    expect(problemsOf(production)).toEqual([required]);
    expect(problemsOf({ ...production, ...workos })).toEqual([]);
    expect(parseConfig({ ...production, ...workos }).appSendsMail).toBe(false);
    expect(problemsOf({ ...production, ...workos, WORKOS_EMAIL: "app" })).toEqual([required]);
    expect(problemsOf({ ...production, ...blockid })).toEqual([]);
    expect(parseConfig({}).appSendsMail).toBe(true);
  });

  it("checks variables against each other even when others are malformed", () => {
    expect(
      problemsOf({ APP_ORIGIN: "nope", SESSION_MAX_AGE: "60", SESSION_IDLE_TIMEOUT: "120" }),
    ).toEqual([
      'APP_ORIGIN must be an origin like https://app.example.com, with no path (got "nope")',
      "SESSION_IDLE_TIMEOUT must not exceed SESSION_MAX_AGE (120 > 60 seconds)",
    ]);
  });
});
