import { hashEmail } from "../lib/log.server";
import type { Sealer } from "../lib/aead.server";
import { systemClock, type Clock } from "../lib/clock";
import { randomInt } from "node:crypto";
import { randomId } from "../lib/crypto.server";
import { classifySmtpError } from "./smtp.server";
import {
  MailSendError,
  type EmailMessage,
  type MailFailureCause,
  type Mailer,
  type MailTag,
} from "./types";

/**
 * The outbox every email the app sends goes through (design: "mail sending never happens on
 * the request path"). A request records the message and answers; a delivery worker in each
 * server process sends it, retrying transient failures with exponential backoff and jitter
 * until the sign-in expires. At least once: a message may reach the inbox twice after an
 * ambiguous failure, always with the same Message-ID.
 *
 * Backends: memory (tests, one process), a SQLite table with leases (the default store; a
 * crashed process's messages are sent after restart), BullMQ on Redis (several instances;
 * any of them delivers).
 */
export interface MailQueue {
  /** What adapters send through: records the message and resolves without waiting for a relay. */
  readonly mailer: Mailer;
  /** Where the delivery with this id stands, or null when the queue knows no such id. */
  status(id: string): Promise<DeliveryStatus | null>;
  /** For /healthz: messages not yet sent or given up, and how long the oldest has waited. */
  health(): Promise<QueueHealth>;
  /**
   * How long a message typically takes from the request to the relay here (ms). A request
   * that sent nothing (throttled, S11) shows "Sending…" this long, as a real one would (S13).
   */
  typicalDeliveryMs(): number;
  /** Starts this process's delivery worker; idempotent. */
  start(): void;
  /** Stops the worker and waits for attempts in flight (each ends by its deadline). */
  close(): Promise<void>;
}

export type DeliveryState = "queued" | "sent" | "retrying" | "failed";

export interface DeliveryStatus {
  state: DeliveryState;
  /** When it was queued (epoch ms, the queue's clock). */
  queuedAt: number;
  /** Attempts made so far. */
  attempts: number;
  /** When the relay accepted it (epoch ms, the queue's clock). */
  sentAt?: number;
  /** When the next attempt is due, while retrying. */
  nextAttemptAt?: number;
  /** Why the last attempt failed. */
  cause?: MailFailureCause;
}

export interface QueueHealth {
  /** Messages queued or retrying. */
  backlog: number;
  /** Age of the oldest of them in ms; 0 when there is none. */
  oldestAgeMs: number;
}

/** One JSON log line per delivery attempt (S28: never the address in clear, the link or the code). */
export interface MailEvent {
  type: "mail";
  /** The delivery's id (the local part of its Message-ID). */
  id: string;
  attempt: number;
  outcome: "sent" | "retry" | "failed";
  /** Why the attempt failed: refused, timeout, 4xx:451, 5xx:550, expired, … */
  cause?: MailFailureCause;
  /** How long the attempt took. */
  ms: number;
  /** When the next attempt is due, after a transient failure. */
  retryInMs?: number;
  emailHash: string;
}

export type MailLogger = (event: MailEvent) => void;

export const jsonMailLogger: MailLogger = (event) => {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
};

export interface RetryPolicy {
  /** Delay before the second attempt, ms; doubled for each later one. Default 2000. */
  firstDelayMs?: number;
  /**
   * The longest delay between attempts, ms. Default 15000 (or the first delay, if longer): a
   * person is waiting on the check page, so a relay that comes back is tried again within
   * that span, while one message's retries stay a few a minute.
   */
  maxDelayMs?: number;
}

export interface DeliveryOptions {
  /** What actually sends: SMTP, or the dev outbox. */
  transport: Mailer;
  /** Seals message bodies at rest with the server key (they hold a live link and code). */
  sealer: Sealer;
  /** `MAIL_SEND_TIMEOUT`: the overall deadline of one attempt, ms. Default 15000. */
  sendTimeoutMs?: number;
  retry?: RetryPolicy;
  /**
   * A delivery that ended in failure: give back the send budgets its request spent (S32).
   * Errors are logged by the caller's own means; they never stop the worker.
   */
  onFailed?: (message: EmailMessage) => Promise<void>;
  log?: MailLogger;
  /** The queue's clock (due times, leases, ages). Default: the system clock. */
  clock?: Clock;
  /**
   * The clock `EmailMessage.expiresAt` was read from (the adapters'). Only the time left is
   * taken from it, so a test clock in the app cannot make the worker wait or expire early.
   */
  appClock?: Clock;
  /** For the jitter; tests make it fixed. */
  random?: () => number;
}

/** A message as the queue keeps it: the body sealed, the times the queue's own. */
export interface QueuedMail {
  id: string;
  /** The sealed message; null once sent, failed or expired. */
  sealed: string | null;
  createdAt: number;
  /** When its link or code stops working: no attempt starts after it. */
  expiresAt: number;
  /** Attempts made so far. */
  attempts: number;
}

/** What an attempt decided. */
export type AttemptOutcome =
  | { kind: "sent"; at: number }
  | { kind: "retry"; at: number; cause: MailFailureCause }
  | { kind: "failed"; cause: MailFailureCause };

/** No message waits longer than this, whatever its sign-in claims (LOGIN_TTL is at most 15 min). */
const MAX_LIFETIME_MS = 15 * 60_000;
/** When the sender gave no expiry: the pending sign-in's own lifetime. */
const DEFAULT_LIFETIME_MS = 10 * 60_000;

/**
 * The part every backend shares: sealing a message for the queue, and one delivery attempt
 * with its deadline, classification, backoff and log line.
 */
export class Delivery {
  readonly sendTimeoutMs: number;
  readonly clock: Clock;
  readonly #options: DeliveryOptions;
  readonly #appClock: Clock;
  readonly #firstDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #random: () => number;
  readonly #log: MailLogger;
  /** Moving average of request-to-relay times, ms. */
  #typicalMs = 250;

  constructor(options: DeliveryOptions) {
    this.#options = options;
    this.sendTimeoutMs = options.sendTimeoutMs ?? 15_000;
    this.clock = options.clock ?? systemClock;
    this.#appClock = options.appClock ?? systemClock;
    this.#firstDelayMs = options.retry?.firstDelayMs ?? 2_000;
    this.#maxDelayMs = options.retry?.maxDelayMs ?? Math.max(15_000, this.#firstDelayMs);
    // node:crypto, as everywhere in the app (S1).
    this.#random = options.random ?? (() => randomInt(0, 2 ** 32) / 2 ** 32);
    this.#log = options.log ?? jsonMailLogger;
  }

  /** A new queue entry for `message`: its id is the tag's, its body sealed. */
  prepare(message: EmailMessage): QueuedMail {
    const now = this.clock();
    const left =
      message.expiresAt === undefined ? DEFAULT_LIFETIME_MS : message.expiresAt - this.#appClock();
    const payload: EmailMessage = {
      to: message.to,
      subject: message.subject,
      text: message.text,
      html: message.html,
      tag: message.tag,
    };
    return {
      id: message.tag?.id ?? randomId(),
      sealed: this.#options.sealer.seal(JSON.stringify(payload)),
      createdAt: now,
      expiresAt: now + Math.max(0, Math.min(left, MAX_LIFETIME_MS)),
      attempts: 0,
    };
  }

  typicalDeliveryMs(): number {
    return Math.round(this.#typicalMs);
  }

  /**
   * Make one attempt at `mail` (whose `attempts` counts those before this one). Never
   * throws: every failure is an outcome. A failure that ends the delivery gives its budgets
   * back through `onFailed`.
   */
  async attempt(mail: QueuedMail): Promise<AttemptOutcome> {
    const started = this.clock();
    const attempt = mail.attempts + 1;
    const message = this.#open(mail.sealed);
    const emailHash = message ? hashEmail(message.to) : "";
    const log = (outcome: MailEvent["outcome"], extra: Partial<MailEvent> = {}) =>
      this.#log({
        type: "mail",
        id: mail.id,
        attempt,
        outcome,
        ms: this.clock() - started,
        emailHash,
        ...extra,
      });
    if (!message) {
      // Sealed with a key no longer configured, or cut short: nothing to send.
      log("failed", { cause: "unreadable" });
      return { kind: "failed", cause: "unreadable" };
    }
    if (started >= mail.expiresAt) {
      log("failed", { cause: "expired" });
      await this.#failed(message);
      return { kind: "failed", cause: "expired" };
    }
    let failure: MailSendError;
    try {
      await this.#sendWithin(message, Math.min(this.sendTimeoutMs, mail.expiresAt - started));
      const at = this.clock();
      this.#typicalMs = this.#typicalMs * 0.8 + Math.min(at - mail.createdAt, 10_000) * 0.2;
      log("sent");
      return { kind: "sent", at };
    } catch (error) {
      failure = error instanceof MailSendError ? error : classifySmtpError(error);
    }
    const now = this.clock();
    if (failure.transient) {
      const at = now + this.backoffMs(attempt);
      // Retried until the sign-in expires; an attempt that could only start later is moot.
      if (at < mail.expiresAt) {
        log("retry", { cause: failure.failure, retryInMs: at - now });
        return { kind: "retry", at, cause: failure.failure };
      }
    }
    log("failed", { cause: failure.failure });
    await this.#failed(message);
    return { kind: "failed", cause: failure.failure };
  }

  /**
   * The wait after the `attempt`-th failure: exponential, capped, with jitter over its upper
   * half, so that the mail of a relay outage does not come back all at the same moment.
   */
  backoffMs(attempt: number): number {
    const ceiling = Math.min(this.#maxDelayMs, this.#firstDelayMs * 2 ** Math.max(0, attempt - 1));
    return Math.round(ceiling / 2 + (ceiling / 2) * this.#random());
  }

  async #sendWithin(message: EmailMessage, ms: number): Promise<void> {
    // The deadline covers the whole conversation (connect, greeting, EHLO, DATA): the
    // transport closes its connection when the signal fires, and the race makes sure that
    // a transport which ignores the signal cannot hold the worker either.
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => {
          controller.abort();
          reject(new MailSendError("timeout", true));
        },
        Math.max(1, ms),
      );
    });
    try {
      await Promise.race([
        this.#options.transport.send(message, { signal: controller.signal }),
        deadline,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #failed(message: EmailMessage): Promise<void> {
    try {
      // Stryker disable next-line OptionalChaining: equivalent, calling a missing hook throws inside this try and the catch ignores it
      await this.#options.onFailed?.(message);
    } catch {
      // The budgets expire on their own; a store hiccup must not stop deliveries.
    }
  }

  #open(sealed: string | null): EmailMessage | null {
    // Stryker disable next-line ConditionalExpression: equivalent, the sealer opens no value that is not a string
    if (sealed === null) return null;
    const json = this.#options.sealer.open(sealed);
    // Stryker disable next-line ConditionalExpression: equivalent, JSON.parse(null) is null as well
    if (json === null) return null;
    try {
      return JSON.parse(json) as EmailMessage;
    } catch {
      return null;
    }
  }
}

/** How long a finished delivery's status is kept: as long as a pending sign-in can ask (S8). */
export const STATUS_KEPT_MS = 10 * 60_000;

/** When a queue entry is forgotten entirely (its body goes at `expiresAt`). */
export function forgetAt(mail: Pick<QueuedMail, "createdAt" | "expiresAt">): number {
  return Math.max(mail.expiresAt, mail.createdAt + STATUS_KEPT_MS);
}

export type { MailTag };
