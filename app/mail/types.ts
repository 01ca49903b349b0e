export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /**
   * Which queued delivery this is (`StartContext.mail`), so the check-email page can follow
   * it and the budgets it spent can be given back if it fails. Absent for mail the app
   * sends outside a sign-in.
   */
  tag?: MailTag;
  /**
   * When the link or code inside stops working (epoch ms, the adapter's clock): a delivery
   * is not retried past it, and its body is not kept past it.
   */
  expiresAt?: number;
}

/**
 * Names one sign-in email from the request that asked for it to its delivery: the strategy
 * makes it, adapters pass it on untouched as `EmailMessage.tag`.
 */
export interface MailTag {
  /** Random, 128 bits: the delivery's id, and the stable part of its Message-ID. */
  id: string;
  /** The client IP whose send budget the request spent (S11, S12). */
  ip?: string;
  /** Whether the request skipped the spacing between sends ("email me a code instead"). */
  skipSpacing?: boolean;
  /**
   * The windows the request's send budgets were spent in (budget name → when the window
   * ends, epoch ms), so that a failed delivery gives them back to those windows only.
   */
  spent?: Record<string, number>;
}

export interface SendOptions {
  /**
   * Aborts the attempt: the delivery worker's overall deadline (`MAIL_SEND_TIMEOUT`) for the
   * whole conversation with the relay, not just an idle gap in it.
   */
  signal?: AbortSignal;
}

/**
 * Sends one email. Throws on failure ({@link MailSendError} from a relay, so that the
 * delivery worker can tell a transient failure from a permanent one).
 */
export interface Mailer {
  send(message: EmailMessage, options?: SendOptions): Promise<void>;
}

/**
 * Why a delivery attempt failed, in words safe to log: `refused`, `reset`, `closed`,
 * `timeout`, `dns`, `tls`, `auth`, `protocol`, `error`, or an SMTP reply as `4xx:451` /
 * `5xx:550`. Never the address, the link or the code.
 */
export type MailFailureCause = string;

/** A failed delivery attempt, classified: a transient one is tried again later. */
export class MailSendError extends Error {
  override name = "MailSendError";
  /** What went wrong, safe to log. */
  readonly failure: MailFailureCause;
  /** True when the same message may go through later (a refused connection, a 4xx reply). */
  readonly transient: boolean;

  constructor(failure: MailFailureCause, transient: boolean, options?: { cause?: unknown }) {
    super(`Mail delivery failed: ${failure}`, options);
    this.failure = failure;
    this.transient = transient;
  }
}
