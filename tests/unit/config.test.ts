import { describe, expect, it } from "vitest";
import { ConfigError, DEV_SESSION_SECRET, parseConfig } from "../../app/config.server";

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
});
