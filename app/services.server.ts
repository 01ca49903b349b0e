import path from "node:path";
import { Authenticator } from "remix-auth";
import { createAdapter } from "../adapters/registry";
import type { AuthAdapter } from "../adapters/types";
import {
  createPasskeyCeremonyCookie,
  PASSKEY_ADAPTER,
  PasskeyStrategy,
  type PasskeyCeremonyCookie,
} from "./auth/passkey-strategy.server";
import { createPasskeys, type Passkeys } from "./auth/passkeys.server";
import { createPendingLoginStore, type PendingLoginStore } from "./auth/pending.server";
import { createProviderSignOut, type ProviderSignOut } from "./auth/provider-signout.server";
import { createSecondFactorStore, type SecondFactorStore } from "./auth/second-factor.server";
import { createSessionManager, type SessionManager, type SessionUser } from "./auth/session.server";
import { EmailLinkStrategy } from "./auth/strategy.server";
import { createUserService, type UserService } from "./auth/users.server";
import { parseConfig, type Config } from "./config.server";
import { socketAddress } from "./lib/client-address.server";
import { systemClock, type Clock } from "./lib/clock";
import { deriveKey } from "./lib/crypto.server";
import { jsonLogger, type Logger } from "./lib/log.server";
import { createSealer } from "./lib/aead.server";
import { Outbox } from "./mail/outbox.server";
import { createPolledMailQueue } from "./mail/polled-queue.server";
import { MemoryQueueBackend } from "./mail/queue-memory.server";
import { SqliteQueueBackend } from "./mail/queue-sqlite.server";
import { createBullmqMailQueue } from "./mail/queue-bullmq.server";
import type { DeliveryOptions, MailLogger, MailQueue, RetryPolicy } from "./mail/queue.server";
import { SmtpMailer } from "./mail/smtp.server";
import type { Mailer } from "./mail/types";
import { clientIp, createSignInLimits } from "./auth/limits.server";
import { MemoryStore } from "./store/memory.server";
import { createRedisClient, createRedisStore } from "./store/redis.server";
import {
  DatabaseOpenError,
  openDatabase,
  startCheckpointer,
  type Database,
} from "./store/sqlite/database.server";
import { createSqliteStore } from "./store/sqlite/store.server";
import type { Store } from "./store/types";
import { MemoryUserStore } from "./store/users/memory.server";
import { createRedisUserStore } from "./store/users/redis.server";
import { createSqliteUserStore } from "./store/users/sqlite.server";
import type { UserStore } from "./store/users/types";

/** Everything the routes use, built once from the configuration. */
export interface Services {
  config: Config;
  clock: Clock;
  store: Store;
  /**
   * The SQLite database in DATA_DIR when the store is SQLite (the default without REDIS_URL):
   * one connection per process, migrated at start, shared by every table the app keeps
   * (the store's, the mail queue's, the users'). Undefined with Redis or the memory store.
   */
  database?: Database;
  /** What delivers mail (SMTP or the dev outbox); only the queue's worker calls it. */
  mailer: Mailer;
  /** The outbox queue every email goes through, with this process's delivery worker. */
  mailQueue: MailQueue;
  /** The dev outbox, when MAIL_TRANSPORT=outbox. */
  outbox?: Outbox;
  adapter: AuthAdapter;
  sessions: SessionManager;
  /** Users and their sign-in methods; sign-in resolves an identity to a user here. */
  users: UserService;
  pending: PendingLoginStore;
  /** Sign-ins waiting for their second factor (MFA). */
  secondFactor: SecondFactorStore;
  /** Ends the provider's sessions when ours end, when the adapter can (WorkOS). */
  providerSignOut?: ProviderSignOut;
  /** Passkeys: their ceremonies and each person's list (credentials live in `store`). */
  passkeys: Passkeys;
  /** The pre-sign-in cookie binding passkey sign-in challenges to a browser. */
  passkeyCeremony: PasskeyCeremonyCookie;
  limits?: EmailLinkStrategy.Limits;
  authenticator: Authenticator<SessionUser>;
  log: Logger;
  /** The client IP as trusted by TRUST_PROXY (S12), and the user agent. */
  requestInfo(request: Request): { ip?: string; userAgent?: string };
  close(): Promise<void>;
}

/** Parts a test (or a team's own server) may supply instead of the configured ones. */
export interface ServiceOverrides {
  clock?: Clock;
  store?: Store;
  /** The users store; by default beside the store (SQLite tables, or Redis with REDIS_URL). */
  userStore?: UserStore;
  /** What delivers (the queue's worker sends through it). */
  mailer?: Mailer;
  /** Queue timings (tests shorten them) and its log. */
  mailQueue?: { sendTimeoutMs?: number; retry?: RetryPolicy; pollMs?: number; log?: MailLogger };
  adapter?:
    | AuthAdapter
    | ((
        services: Omit<Services, "adapter" | "authenticator" | "close" | "providerSignOut">,
      ) => AuthAdapter);
  limits?: EmailLinkStrategy.Limits | null;
  log?: Logger;
}

export const STRATEGY = "email-link";
export const PASSKEY_STRATEGY = "passkey";

export function createServices(config: Config, overrides: ServiceOverrides = {}): Services {
  const clock = overrides.clock ?? systemClock;
  // With REDIS_URL, one client carries the store and the rate limits, so several instances
  // share one-time secrets, counters, lockouts and revocations.
  const redis =
    !overrides.store && config.store === "redis" && config.redis
      ? createRedisClient({ url: config.redis.url })
      : undefined;
  // Without REDIS_URL the default is the SQLite file: what was revoked, used or counted
  // survives a restart (S31). Tests pass their own store.
  const database =
    !overrides.store && config.store === "sqlite" ? openAppDatabase(config.dataDir) : undefined;
  // The WAL's checkpoints (and their fsync) on a thread of their own, not in a request.
  const checkpointer = database
    ? startCheckpointer(database, path.join(config.dataDir, DATABASE_FILE))
    : undefined;
  const store =
    overrides.store ??
    (redis && config.redis
      ? createRedisStore({ client: redis, prefix: config.redis.prefix })
      : database
        ? createSqliteStore({ database, clock })
        : new MemoryStore({ clock }));
  let outbox: Outbox | undefined;
  let mailer = overrides.mailer;
  if (!mailer) {
    if (config.mail.transport === "smtp") {
      mailer = new SmtpMailer({
        url: config.mail.smtpUrl as string,
        from: config.mail.from as string,
        name: config.appName,
      });
    } else {
      // In development the outbox also prints each email, so a link is one click from the log.
      outbox = new Outbox({ log: config.production ? undefined : (line) => console.info(line) });
      mailer = outbox;
    }
  } else if (mailer instanceof Outbox) {
    outbox = mailer;
  }
  const log = overrides.log ?? jsonLogger;
  // Set once the adapter exists; sessions end only after that.
  let providerSignOut: ProviderSignOut | undefined;
  const sessions = createSessionManager({
    secrets: config.sessionSecrets,
    secure: config.secure,
    maxAgeSeconds: config.sessionMaxAgeSeconds,
    idleTimeoutSeconds: config.sessionIdleTimeoutSeconds,
    store,
    clock,
    onEnded: (ended) => providerSignOut?.ended(ended) ?? Promise.resolve(),
  });
  // Users live beside the store: tables in the same SQLite file, or records in the same Redis.
  const userStore =
    overrides.userStore ??
    (redis && config.redis
      ? createRedisUserStore({ client: redis, prefix: config.redis.prefix, clock })
      : database
        ? createSqliteUserStore({ database, clock })
        : new MemoryUserStore({ clock }));
  const passkeys = createPasskeys({
    store,
    clock,
    appOrigin: config.appOrigin,
    rpName: config.appName,
    // Like local user ids, user handles must not change, so they follow LOGIN_HASH_SECRET.
    userHandleKey: deriveKey(config.loginHashSecret, "passkey-user-handle"),
  });
  const users = createUserService({
    store: userStore,
    clock,
    linkByEmail: config.users.linkByEmail,
    signUp: config.users.signUp,
    // Deleting an account signs the person out on every device and forgets their passkeys.
    // Add what else your app keeps per user id here: it goes before the user record does.
    cleanups: [(userId) => sessions.revokeAllFor(userId), (userId) => passkeys.removeAll(userId)],
    log,
  });
  const pending = createPendingLoginStore({
    secrets: config.sessionSecrets,
    secure: config.secure,
    // Ten minutes at most (S8); it outlives a shorter LOGIN_TTL so that a late click hears "expired".
    ttlSeconds: 600,
    clock,
  });
  const secondFactor = createSecondFactorStore({
    secrets: config.sessionSecrets,
    secure: config.secure,
    store,
    // WorkOS's pending authentication token lives ten minutes.
    ttlSeconds: 600,
    clock,
  });
  const requestInfo = (request: Request) => ({
    ip: clientIp(request, config.trustProxy, socketAddress(request)),
    userAgent: request.headers.get("User-Agent")?.slice(0, 256) ?? undefined,
  });
  const limits: EmailLinkStrategy.Limits | undefined =
    overrides.limits === null
      ? undefined
      : (overrides.limits ??
        createSignInLimits({
          store,
          ipPerHour: config.rateLimitIpPerHour,
          emailSpacingSeconds: config.rateLimitEmailSpacingSeconds,
          emailPerHour: config.rateLimitEmailPerHour,
          hourSeconds: config.rateLimitWindowSeconds,
          clock,
        }));
  const passkeyCeremony = createPasskeyCeremonyCookie({
    secrets: config.sessionSecrets,
    secure: config.secure,
  });
  const deliveryOptions: DeliveryOptions = {
    transport: mailer,
    // Bodies hold a live link and code: sealed with the server key at rest (S32).
    sealer: createSealer(config.sessionSecrets, "mail-queue", 65_536),
    sendTimeoutMs: overrides.mailQueue?.sendTimeoutMs ?? config.mail.sendTimeoutMs,
    retry: overrides.mailQueue?.retry ?? { firstDelayMs: config.mail.retryDelayMs },
    log: overrides.mailQueue?.log,
    appClock: clock,
    // A delivery that failed sent nothing: its request's budgets are given back (S32).
    onFailed: async (message) => {
      if (message.tag && limits?.refundSend)
        await limits.refundSend(message.to, message.tag.ip, {
          skipSpacing: message.tag.skipSpacing,
          spent: message.tag.spent,
        });
    },
  };
  // The queue lives where the store does: on Redis any instance delivers (BullMQ); in the
  // SQLite file a message recorded before a restart is sent after it.
  const mailQueue =
    redis && config.redis
      ? createBullmqMailQueue({
          ...deliveryOptions,
          client: redis,
          url: config.redis.url,
          prefix: config.redis.prefix,
        })
      : createPolledMailQueue(
          database ? new SqliteQueueBackend(database) : new MemoryQueueBackend(),
          {
            ...deliveryOptions,
            pollMs: overrides.mailQueue?.pollMs,
          },
        );
  mailQueue.start();
  const base = {
    config,
    clock,
    store,
    database,
    mailer,
    mailQueue,
    outbox,
    sessions,
    users,
    pending,
    secondFactor,
    passkeys,
    passkeyCeremony,
    limits,
    log,
    requestInfo,
  };
  const adapter =
    typeof overrides.adapter === "function"
      ? overrides.adapter(base)
      : (overrides.adapter ??
        createAdapter({
          config,
          store,
          mailer: mailQueue.mailer,
          clock,
          hashKey: deriveKey(config.loginHashSecret, "login-hash"),
        }));
  if (adapter.endSession || adapter.endAllSessions) {
    providerSignOut = createProviderSignOut({ store, adapter, clock, log });
    providerSignOut.start();
  }
  const authenticator = new Authenticator<SessionUser>();
  authenticator.use(
    new EmailLinkStrategy<SessionUser>(
      { adapter, pending, secondFactor, appOrigin: config.appOrigin, limits, requestInfo, log },
      // The session holds the user's id, not the provider's: one person, whichever method.
      // The provider's own session (ids only) rides along, to be ended with ours.
      async ({ identity }) => ({
        id: (await users.signIn(identity)).id,
        adapter: identity.adapter,
        ...(identity.providerSession ? { providerSession: identity.providerSession } : {}),
      }),
    ),
    STRATEGY,
  );
  authenticator.use(
    new PasskeyStrategy<SessionUser>(
      { passkeys, users, ceremony: passkeyCeremony, limits, requestInfo, log },
      async ({ userId }) => ({ id: userId, adapter: PASSKEY_ADAPTER }),
    ),
    PASSKEY_STRATEGY,
  );
  return {
    ...base,
    adapter,
    providerSignOut,
    authenticator,
    async close() {
      providerSignOut?.stop();
      await mailQueue.close();
      await store.close();
      await userStore.close();
      if (redis) redis.disconnect();
      await checkpointer?.stop();
      // Last: everything above may still write to it while closing.
      if (database?.isOpen) database.close();
      if (mailer instanceof SmtpMailer) mailer.close();
    },
  };
}

/** The database file inside DATA_DIR. */
export const DATABASE_FILE = "app.db";

/**
 * Open DATA_DIR's database, or fail with one line naming the folder: the server stops at
 * start (app/entry.server.tsx) rather than failing the first sign-in.
 */
function openAppDatabase(dataDir: string): Database {
  try {
    return openDatabase(path.join(dataDir, DATABASE_FILE));
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new DatabaseOpenError(`[store] DATA_DIR=${dataDir} cannot be used: ${why}`, {
      cause: error,
    });
  }
}

// One instance per process, kept on globalThis so the dev server's module reloads and a
// test runner that imports the built server share it.
const KEY = Symbol.for("passwordless-starter.services");
type Holder = { [KEY]?: Services };

export function getServices(): Services {
  const holder = globalThis as Holder;
  if (!holder[KEY]) {
    const config = parseConfig(process.env);
    if (!config.production && config.usingDevSecret) {
      console.warn(
        "[config] SESSION_SECRETS is not set: using a fixed development secret. Never do this in production.",
      );
    }
    if (config.production && config.mail.transport === "outbox") {
      console.warn(
        "[config] MAIL_TRANSPORT=outbox in production (ALLOW_OUTBOX_IN_PRODUCTION): sign-in mail is kept in memory and never delivered.",
      );
    }
    if (config.production && config.store === "memory") {
      console.warn(
        "[config] STORE=memory in production: sign-outs, revocations, pending sign-ins and lockouts are lost at every restart. Unset STORE to keep them in DATA_DIR.",
      );
    }
    holder[KEY] = createServices(config);
  }
  return holder[KEY];
}

/** Install services built elsewhere (tests, a custom server); `undefined` forgets them. */
export function setServices(services: Services | undefined): void {
  (globalThis as Holder)[KEY] = services;
}
