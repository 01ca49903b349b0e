import {
  Delivery,
  type DeliveryOptions,
  type DeliveryStatus,
  type MailQueue,
  type QueueHealth,
  type QueuedMail,
} from "./queue.server";
import type { EmailMessage, MailFailureCause } from "./types";

/**
 * Storage for a queue whose workers poll: a row per message, claimed with a lease so that
 * one worker at a time attempts it, and a crashed worker's claim runs out by itself.
 */
export interface QueueBackend {
  insert(mail: QueuedMail): Promise<void>;
  /**
   * Claim up to `limit` messages that are due (queued or retrying, `nextAt` ≤ now, not
   * leased or their lease run out), leasing each until `now + leaseMs`. Atomic: two workers
   * never claim the same message while its lease holds.
   */
  claim(now: number, leaseMs: number, limit: number): Promise<QueuedMail[]>;
  /** Sent or given up: the body is dropped at once, the status kept for the check page. */
  finish(
    id: string,
    result: { state: "sent"; at: number } | { state: "failed"; cause: MailFailureCause },
    attempts: number,
  ): Promise<void>;
  /** A transient failure: due again at `at`, lease released. */
  reschedule(id: string, at: number, cause: MailFailureCause, attempts: number): Promise<void>;
  status(id: string): Promise<DeliveryStatus | null>;
  health(now: number): Promise<QueueHealth>;
  /**
   * When the next message no worker holds falls due, if any (so an idle worker sleeps until
   * then, at most its poll interval). A leased message is found by the poll once its lease
   * runs out. Asked after every send and attempt: it must not cost the size of the backlog.
   */
  nextDue(): Promise<number | undefined>;
  /** Drop bodies past their sign-in's expiry and rows past their status horizon. */
  sweep(now: number): Promise<void>;
  close(): Promise<void>;
}

export interface PolledQueueOptions extends DeliveryOptions {
  /** The longest an idle worker sleeps before looking again, ms. Default 1000. */
  pollMs?: number;
  /** Attempts in flight at once in this process. Default 4. */
  concurrency?: number;
}

/** A {@link MailQueue} over a {@link QueueBackend}, with this process's delivery worker. */
export function createPolledMailQueue(
  backend: QueueBackend,
  options: PolledQueueOptions,
): MailQueue {
  const delivery = new Delivery(options);
  const pollMs = options.pollMs ?? 1_000;
  const concurrency = options.concurrency ?? 4;
  // A worker that died mid-attempt holds its lease no longer than an attempt can take.
  const leaseMs = delivery.sendTimeoutMs + 5_000;
  const inFlight = new Set<Promise<void>>();
  let started = false;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let ticking: Promise<void> | undefined;
  let again = false;
  let lastSweep = 0;

  const run = async (mail: QueuedMail) => {
    const outcome = await delivery.attempt(mail);
    const attempts = mail.attempts + 1;
    if (outcome.kind === "sent")
      await backend.finish(mail.id, { state: "sent", at: outcome.at }, attempts);
    else if (outcome.kind === "failed")
      await backend.finish(mail.id, { state: "failed", cause: outcome.cause }, attempts);
    else await backend.reschedule(mail.id, outcome.at, outcome.cause, attempts);
  };

  const tick = async () => {
    const now = delivery.clock();
    if (now - lastSweep >= 30_000) {
      lastSweep = now;
      await backend.sweep(now);
    }
    const free = concurrency - inFlight.size;
    if (free <= 0) return;
    for (const mail of await backend.claim(now, leaseMs, free)) {
      const job: Promise<void> = run(mail)
        .catch(() => {
          // The backend failed to record the outcome: the lease runs out and the message
          // is attempted again (at least once).
        })
        .finally(() => {
          inFlight.delete(job);
          wake();
        });
      inFlight.add(job);
    }
  };

  /** Look for due messages now; at most one look at a time, another if asked meanwhile. */
  const wake = () => {
    if (!started || closed) return;
    if (ticking) {
      again = true;
      return;
    }
    clearTimeout(timer);
    ticking = tick()
      .catch(() => {
        // The store is down: try again at the next poll.
      })
      .then(async () => {
        // Every slot busy: the next attempt to end wakes the worker, so the next due time
        // is not asked for (it would be asked once per email queued during a burst).
        if (inFlight.size >= concurrency) return undefined;
        return backend.nextDue().catch(() => undefined);
      })
      .then((due) => {
        ticking = undefined;
        if (closed) return;
        if (again) {
          again = false;
          wake();
          return;
        }
        const wait =
          due === undefined ? pollMs : Math.max(0, Math.min(pollMs, due - delivery.clock()));
        timer = setTimeout(wake, wait);
        timer.unref();
      });
  };

  return {
    mailer: {
      async send(message: EmailMessage) {
        await backend.insert(delivery.prepare(message));
        // This process's worker picks it up at once; another instance's within its poll.
        wake();
      },
    },
    status: (id) => backend.status(id),
    health: () => backend.health(delivery.clock()),
    typicalDeliveryMs: () => delivery.typicalDeliveryMs(),
    start() {
      if (started || closed) return;
      started = true;
      wake();
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      await ticking;
      await Promise.allSettled([...inFlight]);
      await backend.close();
    },
  };
}
