import { randomUUID } from "node:crypto";
import nodemailer, { type Transporter } from "nodemailer";
import { composeMessage, parseMailbox, type Mailbox } from "./mime";
import {
  MailSendError,
  type EmailMessage,
  type MailFailureCause,
  type Mailer,
  type SendOptions,
} from "./types";

export interface SmtpMailerOptions {
  /** e.g. smtp://user:pass@host:587 or smtps://… */
  url: string;
  /** e.g. "Sign in <login@example.com>", or a bare address that then gets `name`. */
  from: string;
  /** The sender's display name when `from` has none (the app's `APP_NAME`). */
  name?: string;
  /**
   * Bound on each idle gap of a conversation (connecting, the greeting, each reply). The
   * overall deadline of an attempt is the caller's `signal` (the delivery worker's
   * `MAIL_SEND_TIMEOUT`): a relay that drips one line just inside this bound would otherwise
   * hold an attempt for minutes.
   */
  timeoutMs?: number;
  /**
   * Connections kept open to the relay, each reused for up to 100 messages. Default 4: the
   * delivery worker's slots (app/mail/polled-queue.server.ts, queue-bullmq.server.ts), so
   * no attempt waits for a connection.
   */
  maxConnections?: number;
  /** Makes the pooled transport from its settings; nodemailer's by default (tests record). */
  createTransport?: (settings: SmtpSettings) => Transporter;
}

/** What the transport is made with: the relay, its timeouts and the pool. */
export interface SmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  auth: { user: string; pass: string } | undefined;
  connectionTimeout: number;
  greetingTimeout: number;
  socketTimeout: number;
  pool: true;
  maxConnections: number;
  maxMessages: number;
}

/**
 * Real SMTP through nodemailer, over a small pool of connections. A connection per message
 * cost a TCP connect, the greeting, EHLO and QUIT every time: about a third of a
 * delivery's CPU, on the process that answers the requests, and most of its time. A
 * connection the relay has closed meanwhile is replaced; a message none of whose bytes went
 * out on it is sent over another; an attempt whose deadline passes closes its connection.
 */
export class SmtpMailer implements Mailer {
  #transport: Transporter;
  readonly #connect: () => Transporter;
  #closed = false;
  readonly #from: Mailbox;
  readonly #messageIdDomain: string;

  constructor(options: SmtpMailerOptions) {
    const timeout = options.timeoutMs ?? 10_000;
    const url = new URL(options.url);
    const settings: SmtpSettings = {
      host: url.hostname,
      port: url.port ? Number(url.port) : url.protocol === "smtps:" ? 465 : 587,
      secure: url.protocol === "smtps:",
      auth: url.username
        ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) }
        : undefined,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      pool: true,
      maxConnections: options.maxConnections ?? 4,
      maxMessages: 100,
    };
    const create = options.createTransport ?? ((given) => nodemailer.createTransport(given));
    this.#connect = () => create(settings);
    this.#transport = this.#connect();
    // A bare address shows as itself in the inbox; with the app's name people know the
    // sender. The name is quoted or encoded (./mime.ts), so any APP_NAME is safe in the header.
    const from = parseMailbox(options.from);
    this.#from = from.name || !options.name ? from : { ...from, name: options.name };
    // The sender's own domain names its messages (RFC 5322 §3.6.4 asks for a unique id; the
    // domain part is conventionally the sender's).
    this.#messageIdDomain = from.address.slice(from.address.lastIndexOf("@") + 1);
  }

  /**
   * Send one message. A message with a `tag` gets the Message-ID `<tag.id@domain>`, the same
   * on every attempt: a retry after an ambiguous failure (the connection dropped after the
   * data went out) reaches the inbox as a recognisable duplicate, not a second sign-in.
   */
  async send(message: EmailMessage, options: SendOptions = {}): Promise<void> {
    let raw: string;
    try {
      raw = composeMessage({
        from: this.#from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
        messageId: `<${message.tag?.id ?? randomUUID()}@${this.#messageIdDomain}>`,
        date: new Date(),
      });
    } catch (error) {
      // A recipient that is not a plain address would be refused on every attempt.
      throw new MailSendError("unsendable", false, { cause: error });
    }
    const transport = this.#transport;
    try {
      await transport.sendMail({
        envelope: { from: this.#from.address, to: [message.to] },
        raw,
        signal: options.signal,
      });
    } catch (error) {
      // After any failure the next attempt starts on fresh connections, as it did when each
      // message had its own: a relay in trouble may refuse on a connection it will not
      // recover (one that answers 451 until it restarts), and a retry must not keep
      // meeting it there. The old pool finishes what it is sending, then closes.
      if (transport === this.#transport && !this.#closed) {
        this.#transport = this.#connect();
        transport.close();
      }
      throw classifySmtpError(error, options.signal);
    }
  }

  close(): void {
    this.#closed = true;
    this.#transport.close();
  }
}

/**
 * A nodemailer failure as a {@link MailSendError}. RFC 5321: a 4yz reply is transient, a
 * 5yz reply permanent, except 503 (bad sequence of commands), which says the session was in
 * the wrong state rather than that the message was refused. A connection that was refused,
 * reset or timed out, or a relay that closed on us, is transient: the relay may be back soon.
 */
export function classifySmtpError(error: unknown, signal?: AbortSignal): MailSendError {
  if (error instanceof MailSendError) return error;
  const err = (error ?? {}) as { code?: unknown; responseCode?: unknown; message?: unknown };
  if (signal?.aborted || err.code === "EABORT") {
    return new MailSendError("timeout", true, { cause: error });
  }
  const reply = typeof err.responseCode === "number" ? err.responseCode : undefined;
  if (reply !== undefined && reply >= 400 && reply < 600) {
    const permanent = reply >= 500 && reply !== 503;
    return new MailSendError(`${Math.floor(reply / 100)}xx:${reply}`, !permanent, {
      cause: error,
    });
  }
  return new MailSendError(connectionCause(error), true, { cause: error });
}

/** The class of a failure below SMTP, from the error or the system error it wraps. */
function connectionCause(error: unknown): MailFailureCause {
  const codes: string[] = [];
  for (let e: unknown = error, depth = 0; e && depth < 4; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === "string") codes.push(code);
    if (typeof message === "string") codes.push(message);
    e = (e as { cause?: unknown }).cause;
  }
  const text = codes.join(" ");
  if (/ECONNREFUSED/.test(text)) return "refused";
  if (/ECONNRESET|EPIPE/.test(text)) return "reset";
  if (/ETIMEDOUT|timed? ?out/i.test(text)) return "timeout";
  if (/EDNS|ENOTFOUND|EAI_AGAIN/.test(text)) return "dns";
  if (/ETLS|certificate|SSL|TLS/i.test(text)) return "tls";
  if (/EAUTH|ENOAUTH/.test(text)) return "auth";
  if (/ECONNECTION|closed/i.test(text)) return "closed";
  if (/EPROTOCOL/.test(text)) return "protocol";
  return "error";
}
