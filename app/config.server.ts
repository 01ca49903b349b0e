import { z } from "zod";

/**
 * The whole configuration, parsed once from the environment. In production a missing or
 * malformed variable stops the server at start with one message naming every problem;
 * in development the embedded defaults make sign-in work with nothing set.
 */
export type Config = z.infer<ReturnType<typeof configSchema>>;

export const ADAPTER_NAMES = [
  "local",
  "workos-magic-link",
  "workos-magic-auth",
  "workos",
  "blockid",
] as const;
export type AdapterName = (typeof ADAPTER_NAMES)[number];

export const DEV_SESSION_SECRET = "dev-only-secret-do-not-use-in-production-0123456789";

const seconds = (fallback: number, max?: number) => {
  let schema = z.coerce
    .number<string>()
    .int("must be a whole number of seconds")
    .positive("must be positive");
  if (max !== undefined) schema = schema.max(max, `must be at most ${max}`);
  return z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === "" ? String(fallback) : v))
    .pipe(schema);
};

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

function configSchema(production: boolean) {
  return z
    .object({
      NODE_ENV: z.string().optional(),
      APP_ORIGIN: optionalString
        .transform((v) => v ?? (production ? undefined : "http://localhost:5173"))
        .pipe(
          z
            .string({ error: "is required in production (e.g. https://app.example.com)" })
            .refine(
              (v) => isOrigin(v),
              "must be an origin like https://app.example.com, with no path",
            ),
        )
        .transform((v) => new URL(v).origin),
      SESSION_SECRETS: optionalString
        .transform((v) => v ?? (production ? undefined : DEV_SESSION_SECRET))
        .pipe(z.string({ error: "is required in production (comma-separated, first signs)" }))
        .transform((v) =>
          v
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean),
        )
        .pipe(
          z
            .array(z.string().min(32, "each secret must be at least 32 characters"))
            .min(1, "needs at least one secret"),
        ),
      LOGIN_HASH_SECRET: optionalString.pipe(
        z.string().min(32, "must be at least 32 characters").optional(),
      ),
      SESSION_MAX_AGE: seconds(604_800),
      SESSION_IDLE_TIMEOUT: seconds(86_400),
      AUTH_ADAPTER: optionalString.pipe(z.enum(ADAPTER_NAMES).optional()),
      LOGIN_TTL: seconds(600, 900),
      // Kept past expiry only so a late click hears "expired" rather than "invalid"; 0 lets
      // the memory store drop a record as soon as its TTL has passed.
      LOGIN_GRACE: optionalString
        .transform((v) => v ?? "600")
        .pipe(z.coerce.number<string>().int("must be a whole number of seconds").min(0).max(600)),
      WORKOS_API_KEY: optionalString,
      WORKOS_CLIENT_ID: optionalString,
      WORKOS_API_URL: optionalString
        .transform((v) => v ?? "https://api.workos.com")
        .pipe(z.string().refine((v) => isHttpUrl(v), "must be an http(s) URL")),
      WORKOS_TIMEOUT_MS: optionalString
        .transform((v) => v ?? "10000")
        .pipe(z.coerce.number<string>().int().min(100).max(60_000)),
      WORKOS_MAX_RETRIES: optionalString
        .transform((v) => v ?? "2")
        .pipe(z.coerce.number<string>().int().min(0).max(5)),
      WORKOS_EMAIL: optionalString.transform((v) => v ?? "workos").pipe(z.enum(["workos", "app"])),
      MAIL_TRANSPORT: optionalString.pipe(z.enum(["outbox", "smtp"]).optional()),
      ALLOW_OUTBOX_IN_PRODUCTION: optionalString.transform((v) => v === "1" || v === "true"),
      SMTP_URL: optionalString.pipe(
        z
          .string()
          .refine((v) => /^smtps?:\/\//.test(v) && URL.canParse(v), "must be smtp://… or smtps://…")
          .optional(),
      ),
      MAIL_FROM: optionalString,
      APP_NAME: optionalString.transform((v) => v ?? "Passwordless Starter"),
      REDIS_URL: optionalString.pipe(
        z
          .string()
          .refine(
            (v) => /^rediss?:\/\//.test(v) && URL.canParse(v),
            "must be redis://… or rediss://…",
          )
          .optional(),
      ),
      REDIS_PREFIX: optionalString.transform((v) => v ?? "pls:"),
      TRUST_PROXY: optionalString
        .transform((v) => v ?? "0")
        .pipe(z.coerce.number<string>().int().min(0).max(10)),
      RATE_LIMIT_EMAIL_SPACING: optionalString
        .transform((v) => v ?? "60")
        .pipe(z.coerce.number<string>().int().min(0).max(3600)),
      RATE_LIMIT_EMAIL_PER_HOUR: optionalString
        .transform((v) => v ?? "5")
        .pipe(z.coerce.number<string>().int().positive()),
      RATE_LIMIT_IP_PER_HOUR: optionalString
        .transform((v) => v ?? "100")
        .pipe(z.coerce.number<string>().int().positive()),
      // The length of the "hourly" send and verify budgets; shorter windows let counters go
      // sooner (the memory benchmark) but loosen the limits in proportion (S11, S12).
      RATE_LIMIT_WINDOW: optionalString
        .transform((v) => v ?? "3600")
        .pipe(
          z.coerce.number<string>().int("must be a whole number of seconds").min(60).max(86_400),
        ),
      BLOCKID_DNS: optionalString,
      BLOCKID_COMMUNITY: optionalString,
      BLOCKID_LICENSE_KEY: optionalString,
      BLOCKID_BASE_URL: optionalString,
      PORT: optionalString
        .transform((v) => v ?? "3000")
        .pipe(z.coerce.number<string>().int().min(0).max(65535)),
      HOST: optionalString.transform((v) => v ?? "0.0.0.0"),
    })
    .transform((env) => {
      const adapter: AdapterName = env.AUTH_ADAPTER ?? (env.WORKOS_API_KEY ? "workos" : "local");
      const mailTransport = env.MAIL_TRANSPORT ?? "outbox";
      const origin = new URL(env.APP_ORIGIN);
      return {
        production,
        appName: env.APP_NAME,
        appOrigin: env.APP_ORIGIN,
        secure: origin.protocol === "https:",
        sessionSecrets: env.SESSION_SECRETS,
        // Keys the hashes of pending secrets and local user ids; it must not rotate, or local
        // user ids change. Defaults to the first session secret.
        loginHashSecret: env.LOGIN_HASH_SECRET ?? (env.SESSION_SECRETS[0] as string),
        usingDevSecret: env.SESSION_SECRETS[0] === DEV_SESSION_SECRET,
        sessionMaxAgeSeconds: env.SESSION_MAX_AGE,
        sessionIdleTimeoutSeconds: env.SESSION_IDLE_TIMEOUT,
        adapter,
        loginTtlSeconds: env.LOGIN_TTL,
        loginGraceSeconds: env.LOGIN_GRACE,
        workos: {
          apiKey: env.WORKOS_API_KEY,
          clientId: env.WORKOS_CLIENT_ID,
          apiUrl: env.WORKOS_API_URL,
          email: env.WORKOS_EMAIL,
          timeoutMs: env.WORKOS_TIMEOUT_MS,
          maxRetries: env.WORKOS_MAX_RETRIES,
        },
        blockid: {
          dns: env.BLOCKID_DNS,
          community: env.BLOCKID_COMMUNITY,
          licenseKey: env.BLOCKID_LICENSE_KEY,
          baseUrl: env.BLOCKID_BASE_URL,
        },
        mail: {
          transport: mailTransport,
          smtpUrl: env.SMTP_URL,
          from: env.MAIL_FROM,
        },
        redis: env.REDIS_URL ? { url: env.REDIS_URL, prefix: env.REDIS_PREFIX } : undefined,
        trustProxy: env.TRUST_PROXY,
        rateLimitIpPerHour: env.RATE_LIMIT_IP_PER_HOUR,
        rateLimitEmailSpacingSeconds: env.RATE_LIMIT_EMAIL_SPACING,
        rateLimitEmailPerHour: env.RATE_LIMIT_EMAIL_PER_HOUR,
        rateLimitWindowSeconds: env.RATE_LIMIT_WINDOW,
        port: env.PORT,
        host: env.HOST,
      };
    });
}

/**
 * Rules that tie variables together, checked on the raw strings so that they are reported
 * together with any malformed value: one message names every problem.
 */
function crossFieldProblems(
  env: Record<string, string | undefined>,
  production: boolean,
): string[] {
  const value = (name: string) => (env[name]?.trim() ? env[name]?.trim() : undefined);
  const problems: string[] = [];
  const adapter = value("AUTH_ADAPTER") ?? (value("WORKOS_API_KEY") ? "workos" : "local");
  const usesWorkos = adapter.startsWith("workos");
  if (usesWorkos) {
    for (const name of ["WORKOS_API_KEY", "WORKOS_CLIENT_ID"]) {
      if (!value(name)) problems.push(`${name} is required for AUTH_ADAPTER=${adapter}`);
    }
  }
  if (adapter === "blockid") {
    for (const name of ["BLOCKID_DNS", "BLOCKID_COMMUNITY", "BLOCKID_LICENSE_KEY"]) {
      if (!value(name)) problems.push(`${name} is required for AUTH_ADAPTER=blockid`);
    }
  }
  // The app sends mail itself unless the provider delivers everything.
  const appSendsMail = adapter === "local" || (usesWorkos && value("WORKOS_EMAIL") === "app");
  const transport = value("MAIL_TRANSPORT");
  if (production && appSendsMail && !transport)
    problems.push("MAIL_TRANSPORT is required in production (smtp)");
  const optedIn = ["1", "true"].includes(value("ALLOW_OUTBOX_IN_PRODUCTION") ?? "");
  if (production && transport === "outbox" && !optedIn) {
    problems.push(
      "MAIL_TRANSPORT=outbox keeps mail in memory and is not for production; set ALLOW_OUTBOX_IN_PRODUCTION=1 to opt in (benchmarks only)",
    );
  }
  if (transport === "smtp") {
    for (const name of ["SMTP_URL", "MAIL_FROM"]) {
      if (!value(name)) problems.push(`${name} is required when MAIL_TRANSPORT=smtp`);
    }
  }
  const maxAge = Number(value("SESSION_MAX_AGE") ?? 604_800);
  const idle = Number(value("SESSION_IDLE_TIMEOUT") ?? 86_400);
  if (Number.isFinite(maxAge) && Number.isFinite(idle) && idle > maxAge) {
    problems.push("SESSION_IDLE_TIMEOUT must not exceed SESSION_MAX_AGE");
  }
  return problems;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Parse an environment. Throws one ConfigError listing every problem. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const production = env.NODE_ENV === "production";
  const result = configSchema(production).safeParse(env);
  const problems = [
    ...(result.success
      ? []
      : result.error.issues.map(
          (issue) => `${issue.path.join(".") || "environment"} ${issue.message}`,
        )),
    ...crossFieldProblems(env, production),
  ];
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data;
}

function isOrigin(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (
    (url.protocol === "http:" || url.protocol === "https:") &&
    (url.pathname === "/" || url.pathname === "") &&
    !url.search &&
    !url.hash
  );
}

function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const { protocol } = new URL(value);
  return protocol === "http:" || protocol === "https:";
}
