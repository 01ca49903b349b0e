import type { EmailMessage, Mailer } from "./types";

export interface OutboxEntry extends EmailMessage {
  id: number;
  sentAt: number;
}

export interface OutboxOptions {
  /** Most recent messages kept; older ones are dropped. */
  limit?: number;
  /** Print each message (with its link and code) to the server log: development only. */
  log?: (line: string) => void;
}

/**
 * The development mail transport: messages stay in memory, newest first, for /dev/mailbox
 * and for tests. Bounded, so a long-running dev server or a benchmark cannot fill memory.
 */
export class Outbox implements Mailer {
  readonly #messages: OutboxEntry[] = [];
  readonly #limit: number;
  readonly #log?: (line: string) => void;
  #next = 1;

  constructor(options: OutboxOptions = {}) {
    this.#limit = options.limit ?? 50;
    this.#log = options.log;
  }

  async send(message: EmailMessage): Promise<void> {
    const entry: OutboxEntry = { ...message, id: this.#next++, sentAt: Date.now() };
    this.#messages.unshift(entry);
    if (this.#messages.length > this.#limit) this.#messages.length = this.#limit;
    this.#log?.(`[outbox] to ${message.to}: ${message.subject}\n${message.text}`);
  }

  /** Newest first. */
  list(): readonly OutboxEntry[] {
    return this.#messages;
  }

  /** The newest message to `address`, if any. */
  latestTo(address: string): OutboxEntry | undefined {
    const wanted = address.toLowerCase();
    return this.#messages.find((m) => m.to.toLowerCase() === wanted);
  }

  clear(): void {
    this.#messages.length = 0;
  }
}
