import { parseMailbox } from "./mail/mime";
import { ADAPTERS, impliedAdapter, type AdapterModule } from "../adapters/registry";
import {
  flag,
  integer,
  invalid,
  got,
  oneOf,
  parsed,
  readVariables,
  secret,
  text,
  url,
  variable,
  type PartialValues,
  type Values,
} from "./lib/variables";

export type { AdapterName } from "../adapters/registry";

/**
 * The whole configuration, parsed once from the environment. In production a missing or
 * malformed variable stops the server at start with one message naming every problem;
 * in development the embedded defaults make sign-in work with nothing set.
 *
 * The app's own variables are declared in {@link coreVariables} and mapped onto this object
 * in {@link buildConfig}; an adapter's variables live in its module (adapters/registry.ts).
 */
export type Config = ReturnType<typeof buildConfig>;

export const DEV_SESSION_SECRET = "dev-only-secret-do-not-use-in-production-0123456789";

/** What the app's own variables depend on. */
interface CoreContext {
  production: boolean;
  /** The chosen adapter's `sendsMail` capability: production then needs a mail transport. */
  appSendsMail: boolean;
}

/**
 * The app's own variables (every adapter's are in its module). To add one: declare it here
 * with a helper from app/lib/variables.ts, then map it in {@link buildConfig}.
 */
function coreVariables({ production, appSendsMail }: CoreContext) {
  return {
    APP_ORIGIN: variable(
      (value) =>
        isOrigin(value)
          ? new URL(value).origin
          : invalid(`must be an origin like https://app.example.com, with no path${got(value)}`),
      production
        ? { required: "is required in production (e.g. https://app.example.com)" }
        : { default: "http://localhost:5173" },
    ),
    SESSION_SECRETS: variable(
      (value) => {
        const secrets = value
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean);
        if (secrets.length === 0) return invalid("needs at least one secret");
        // Never echo a secret: the start-up log is read by more people than its owner.
        return secrets.every((s) => s.length >= 32)
          ? secrets
          : invalid("must hold secrets of at least 32 characters each, comma-separated");
      },
      production
        ? { required: "is required in production (comma-separated; the first one signs)" }
        : { default: [DEV_SESSION_SECRET] },
    ),
    LOGIN_HASH_SECRET: secret({ minLength: 32 }),
    SESSION_MAX_AGE: integer({ default: 604_800, min: 1, unit: "seconds" }),
    SESSION_IDLE_TIMEOUT: integer({ default: 86_400, min: 1, unit: "seconds" }),
    LOGIN_TTL: integer({ default: 600, min: 1, max: 900, unit: "seconds" }),
    // Kept past expiry only so a late click hears "expired" rather than "invalid"; 0 lets
    // the memory store drop a record as soon as its TTL has passed.
    LOGIN_GRACE: integer({ default: 600, min: 0, max: 600, unit: "seconds" }),
    // Unset stays undefined (not "outbox") so that only an explicit outbox in production
    // needs the opt-in below.
    MAIL_TRANSPORT: oneOf(
      ["outbox", "smtp"],
      production && appSendsMail ? { required: "is required in production (smtp)" } : {},
    ),
    ALLOW_OUTBOX_IN_PRODUCTION: flag(),
    // May carry a password, so its value is never echoed.
    SMTP_URL: url({ protocols: ["smtp:", "smtps:"], secret: true }),
    MAIL_FROM: text(),
    // The overall deadline of one delivery attempt (the whole SMTP conversation), and the
    // wait before the first retry (doubled for each later one); fractions for tests.
    MAIL_SEND_TIMEOUT: fractionalSeconds({ default: 15, min: 0.1, max: 300 }),
    MAIL_RETRY_DELAY: fractionalSeconds({ default: 2, min: 0.05, max: 60 }),
    APP_NAME: text({ default: "Passwordless Starter" }),
    REDIS_URL: url({ protocols: ["redis:", "rediss:"], secret: true }),
    REDIS_PREFIX: text({ default: "pls:" }),
    // Where the embedded SQLite store keeps its file (one instance). Relative to the
    // working directory, like `npm start` itself.
    DATA_DIR: text({ default: production ? "./data" : "./.data" }),
    STORE: oneOf(["memory", "sqlite", "redis"]),
    // Join a sign-in method to the user with the same verified address (README, "Users").
    LINK_BY_EMAIL: oneOf(["1", "0", "true", "false"], { default: "1" }),
    SIGN_UP: oneOf(["open", "closed"], { default: "open" }),
    TRUST_PROXY: integer({ default: 0, min: 0, max: 10 }),
    RATE_LIMIT_EMAIL_SPACING: integer({ default: 60, min: 0, max: 3600, unit: "seconds" }),
    RATE_LIMIT_EMAIL_PER_HOUR: integer({ default: 5, min: 1 }),
    RATE_LIMIT_IP_PER_HOUR: integer({ default: 100, min: 1 }),
    // The length of the "hourly" send and verify budgets; shorter windows let counters go
    // sooner (the memory benchmark) but loosen the limits in proportion (S11, S12).
    RATE_LIMIT_WINDOW: integer({ default: 3600, min: 60, max: 86_400, unit: "seconds" }),
    // How long server.js drains on SIGTERM/SIGINT before it cuts what is left (S33).
    SHUTDOWN_TIMEOUT: integer({ default: 10, min: 1, max: 600, unit: "seconds" }),
    PORT: integer({ default: 3000, min: 0, max: 65_535 }),
    HOST: text({ default: "0.0.0.0" }),
  };
}

type CoreVariables = ReturnType<typeof coreVariables>;

/** A number of seconds, fractions allowed (tests shorten the mail queue's timings). */
function fractionalSeconds(options: { default: number; min: number; max: number }) {
  const { min, max } = options;
  return variable(
    (value) =>
      /^\d+(\.\d+)?$/.test(value) && Number(value) >= min && Number(value) <= max
        ? Number(value)
        : invalid(`must be a number of seconds between ${min} and ${max}${got(value)}`),
    { default: options.default },
  );
}

/**
 * Rules that tie the app's variables together. A variable that failed to parse is absent
 * and already reported; each rule runs when the variables it compares parsed, so one
 * message still names every problem.
 */
function coreProblems(env: PartialValues<CoreVariables>, production: boolean): string[] {
  const problems: string[] = [];
  if (
    production &&
    parsed(env, "MAIL_TRANSPORT", "ALLOW_OUTBOX_IN_PRODUCTION") &&
    env.MAIL_TRANSPORT === "outbox" &&
    !env.ALLOW_OUTBOX_IN_PRODUCTION
  ) {
    problems.push(
      "MAIL_TRANSPORT=outbox keeps mail in memory and is not for production; set ALLOW_OUTBOX_IN_PRODUCTION=1 to opt in (benchmarks only)",
    );
  }
  if (parsed(env, "MAIL_TRANSPORT") && env.MAIL_TRANSPORT === "smtp") {
    if (parsed(env, "SMTP_URL") && !env.SMTP_URL)
      problems.push("SMTP_URL is required when MAIL_TRANSPORT=smtp");
    if (!env.MAIL_FROM) problems.push("MAIL_FROM is required when MAIL_TRANSPORT=smtp");
    else {
      try {
        parseMailbox(env.MAIL_FROM);
      } catch {
        problems.push(
          'MAIL_FROM must be an address or "Name <address>" (e.g. "Sign in <login@example.com>")',
        );
      }
    }
  }
  if (parsed(env, "STORE", "REDIS_URL") && env.STORE === "redis" && !env.REDIS_URL)
    problems.push("REDIS_URL is required when STORE=redis");
  if (
    parsed(env, "SESSION_MAX_AGE", "SESSION_IDLE_TIMEOUT") &&
    env.SESSION_IDLE_TIMEOUT > env.SESSION_MAX_AGE
  ) {
    problems.push(
      `SESSION_IDLE_TIMEOUT must not exceed SESSION_MAX_AGE (${env.SESSION_IDLE_TIMEOUT} > ${env.SESSION_MAX_AGE} seconds)`,
    );
  }
  return problems;
}

interface ChosenAdapter {
  // A plain string here: the adapter modules' own types refer to Config, so AdapterName
  // would make this type depend on itself.
  name: string;
  module: AdapterModule;
  /** The module's own variables, as parsed. */
  variables: Readonly<Record<string, unknown>>;
}

/** The configuration object every factory receives. */
function buildConfig(env: Values<CoreVariables>, adapter: ChosenAdapter, production: boolean) {
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
    /** The `AUTH_ADAPTER` in use. */
    adapter: adapter.name,
    /** The adapter's own variables, as its module declared them (adapters/registry.ts). */
    adapterVariables: adapter.variables,
    /** The adapter's capability: the app sends the sign-in email (else the provider does). */
    appSendsMail: adapter.module.sendsMail(adapter.variables),
    loginTtlSeconds: env.LOGIN_TTL,
    loginGraceSeconds: env.LOGIN_GRACE,
    mail: {
      transport: env.MAIL_TRANSPORT ?? "outbox",
      smtpUrl: env.SMTP_URL,
      from: env.MAIL_FROM,
      sendTimeoutMs: Math.round(env.MAIL_SEND_TIMEOUT * 1000),
      retryDelayMs: Math.round(env.MAIL_RETRY_DELAY * 1000),
    },
    redis: env.REDIS_URL ? { url: env.REDIS_URL, prefix: env.REDIS_PREFIX } : undefined,
    /**
     * Where one-time secrets, revocations, counters and lockouts live: Redis when REDIS_URL
     * is set, else the SQLite file in `dataDir`; `memory` only when asked for.
     */
    store: env.STORE ?? (env.REDIS_URL ? "redis" : "sqlite"),
    dataDir: env.DATA_DIR,
    users: {
      linkByEmail: env.LINK_BY_EMAIL === "1" || env.LINK_BY_EMAIL === "true",
      signUp: env.SIGN_UP,
    },
    trustProxy: env.TRUST_PROXY,
    rateLimitIpPerHour: env.RATE_LIMIT_IP_PER_HOUR,
    rateLimitEmailSpacingSeconds: env.RATE_LIMIT_EMAIL_SPACING,
    rateLimitEmailPerHour: env.RATE_LIMIT_EMAIL_PER_HOUR,
    rateLimitWindowSeconds: env.RATE_LIMIT_WINDOW,
    shutdownTimeoutSeconds: env.SHUTDOWN_TIMEOUT,
    port: env.PORT,
    host: env.HOST,
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export interface ParseOptions {
  /** The adapter modules to choose from; the registry's by default (tests add their own). */
  adapters?: readonly AdapterModule[];
}

/** Parse an environment. Throws one ConfigError listing every problem, each a sentence. */
export function parseConfig(
  env: Record<string, string | undefined>,
  { adapters = ADAPTERS }: ParseOptions = {},
): Config {
  const production = env.NODE_ENV === "production";
  const names = adapters.map((candidate) => candidate.name);
  const choice = readVariables({ AUTH_ADAPTER: oneOf(names) }, env);
  const explicit = choice.values.AUTH_ADAPTER;
  const implied = impliedAdapter(env, adapters);
  // An unknown AUTH_ADAPTER is reported, and no adapter's variables are read.
  const name = "AUTH_ADAPTER" in choice.values ? (explicit ?? implied.name) : undefined;
  const module = adapters.find((candidate) => candidate.name === name);
  const own = module
    ? readVariables(module.variables, env, {
        requiredFor: explicit
          ? `for AUTH_ADAPTER=${explicit}`
          : `for AUTH_ADAPTER=${implied.name}${implied.because ? ` (chosen because ${implied.because} is set)` : ""}`,
      })
    : { values: {}, problems: [] };
  // Unknown adapter: assume the app sends mail, the stricter reading.
  const appSendsMail = module ? module.sendsMail(own.values) : true;
  const core = readVariables(coreVariables({ production, appSendsMail }), env);
  const problems = [
    ...choice.problems,
    ...core.problems,
    ...own.problems,
    ...coreProblems(core.values, production),
    ...(module && name ? module.check(own.values, { production, name }) : []),
  ];
  if (problems.length > 0 || !module || !name) throw new ConfigError(problems);
  return buildConfig(
    core.values as Values<CoreVariables>,
    {
      name,
      module,
      variables: own.values,
    },
    production,
  );
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
