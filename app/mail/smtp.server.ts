import nodemailer, { type Transporter } from "nodemailer";
import type { EmailMessage, Mailer } from "./types";

export interface SmtpMailerOptions {
  /** e.g. smtp://user:pass@host:587 or smtps://… */
  url: string;
  /** e.g. "Sign in <login@example.com>", or a bare address that then gets `name`. */
  from: string;
  /** The sender's display name when `from` has none (the app's `APP_NAME`). */
  name?: string;
  /** Bound on each phase of a send, so a stuck server cannot hold a request open. */
  timeoutMs?: number;
}

/** Real SMTP through nodemailer. */
export class SmtpMailer implements Mailer {
  readonly #transport: Transporter;
  readonly #from: string | { name: string; address: string };

  constructor(options: SmtpMailerOptions) {
    const timeout = options.timeoutMs ?? 10_000;
    const url = new URL(options.url);
    this.#transport = nodemailer.createTransport({
      host: url.hostname,
      port: url.port ? Number(url.port) : url.protocol === "smtps:" ? 465 : 587,
      secure: url.protocol === "smtps:",
      auth: url.username
        ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) }
        : undefined,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
    // A bare address shows as itself in the inbox; with the app's name people know the
    // sender. nodemailer quotes the name, so any APP_NAME is safe in the header.
    const bare = !options.from.includes("<");
    this.#from =
      bare && options.name ? { name: options.name, address: options.from.trim() } : options.from;
  }

  async send(message: EmailMessage): Promise<void> {
    await this.#transport.sendMail({
      from: this.#from,
      to: message.to,
      subject: message.subject,
      text: message.text,
      html: message.html,
    });
  }

  close(): void {
    this.#transport.close();
  }
}
