import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from "bullmq";
import { Redis } from "ioredis";
import {
  Delivery,
  STATUS_KEPT_MS,
  type DeliveryOptions,
  type DeliveryStatus,
  type MailQueue,
  type QueuedMail,
} from "./queue.server";
import type { EmailMessage, MailFailureCause } from "./types";

export interface BullmqMailQueueOptions extends DeliveryOptions {
  /** The store's client (`createRedisClient`): records jobs; closing it is the caller's job. */
  client: Redis;
  /** REDIS_URL: the worker's own blocking connection to the same server. */
  url: string;
  /** The store's key prefix (`REDIS_PREFIX`); the queue's keys live under `<prefix>mq:`. */
  prefix?: string;
  /** Attempts in flight at once in this process. Default 4. */
  concurrency?: number;
}

/** What a job holds: the sealed body (gone once it is sent or given up) and its history. */
interface JobData {
  sealed: string | null;
  createdAt: number;
  expiresAt: number;
  attempts: number;
  sentAt?: number;
  nextAt?: number;
  cause?: MailFailureCause;
}

const QUEUE = "mail";

/**
 * The mail queue on Redis with BullMQ (docs/decisions/0010-mail-delivery-queue.md), for several
 * instances: any instance's worker delivers, and a job held by an instance that died is
 * found stalled once its lock runs out and handed to another. The retry policy is the
 * shared one ({@link Delivery}); BullMQ's own attempts and backoff are not used, so that a
 * retry is never scheduled past the sign-in's expiry.
 *
 * Jobs are recorded through the store's client. The worker needs a connection of its own:
 * it blocks on Redis, which the store's client (bounded command timeouts, no offline queue)
 * must never do.
 */
export function createBullmqMailQueue(options: BullmqMailQueueOptions): MailQueue {
  const delivery = new Delivery(options);
  const prefix = `${options.prefix ?? "pls:"}mq`;
  // Recording is on the request path: through the store's own client, with its bounded
  // timeouts and no offline queue, so a Redis that is away fails the request at once (503)
  // and the queue recovers exactly when the store does.
  const queue = new Queue<JobData>(QUEUE, { connection: options.client, prefix });
  queue.on("error", () => {});
  // A dead instance's lock runs out one attempt's length after its last renewal.
  const lockMs = delivery.sendTimeoutMs + 5_000;
  let worker: Worker<JobData> | undefined;
  let workerConnection: Redis | undefined;

  const keep = { age: Math.ceil(STATUS_KEPT_MS / 1000) };

  const deliver = async (job: Job<JobData>, token?: string) => {
    const mail: QueuedMail = {
      id: fromJobId(job.id as string),
      sealed: job.data.sealed,
      createdAt: job.data.createdAt,
      expiresAt: job.data.expiresAt,
      attempts: job.data.attempts,
    };
    const outcome = await delivery.attempt(mail);
    const attempts = mail.attempts + 1;
    if (outcome.kind === "sent") {
      await job.updateData({ ...job.data, sealed: null, attempts, sentAt: outcome.at });
      return;
    }
    if (outcome.kind === "failed") {
      await job.updateData({ ...job.data, sealed: null, attempts, cause: outcome.cause });
      throw new UnrecoverableError(outcome.cause);
    }
    await job.updateData({ ...job.data, attempts, cause: outcome.cause, nextAt: outcome.at });
    await job.moveToDelayed(outcome.at, token);
    // Tells BullMQ the job was moved on purpose, not failed.
    throw new DelayedError();
  };

  return {
    mailer: {
      async send(message: EmailMessage) {
        const mail = delivery.prepare(message);
        const data: JobData = {
          sealed: mail.sealed,
          createdAt: mail.createdAt,
          expiresAt: mail.expiresAt,
          attempts: 0,
        };
        await queue.add("send", data, {
          jobId: toJobId(mail.id),
          attempts: 1,
          removeOnComplete: keep,
          removeOnFail: keep,
        });
      },
    },
    async status(id) {
      if (!/^[0-9a-f]{1,64}$/.test(id)) return null;
      // The worker records a send or a refusal in the job's data before it moves the job
      // on, so the data says what happened; the state adds only a job that BullMQ failed
      // itself (stalled more often than allowed). The state is read first: read second,
      // a job that finished in between would read as it was before its attempt.
      const state = await queue.getJobState(toJobId(id));
      const job = await queue.getJob(toJobId(id));
      if (!job) return null;
      const data = job.data;
      const status: DeliveryStatus = {
        state:
          data.sentAt !== undefined
            ? "sent"
            : data.sealed === null || state === "failed"
              ? "failed"
              : data.attempts > 0
                ? "retrying"
                : "queued",
        queuedAt: data.createdAt,
        attempts: data.attempts,
        sentAt: data.sentAt,
        cause: data.cause,
      };
      if (status.state === "retrying") status.nextAttemptAt = data.nextAt;
      return status;
    },
    async health() {
      const counts = await queue.getJobCounts("waiting", "delayed", "active", "prioritized");
      const backlog = Object.values(counts).reduce((sum, n) => sum + n, 0);
      if (backlog === 0) return { backlog, oldestAgeMs: 0 };
      // The oldest of each kind: the head of each list, read oldest first.
      const heads = await queue.getJobs(["waiting", "delayed", "active"], 0, 0, true);
      const oldest = Math.min(...heads.map((job) => job.data.createdAt), delivery.clock());
      return { backlog, oldestAgeMs: delivery.clock() - oldest };
    },
    typicalDeliveryMs: () => delivery.typicalDeliveryMs(),
    start() {
      if (worker) return;
      // Blocking commands: no timeout per command, retried across reconnects.
      // Named, so CLIENT LIST shows which connections are the mail worker's.
      workerConnection = new Redis(options.url, {
        maxRetriesPerRequest: null,
        connectionName: `${prefix}:worker`,
      });
      workerConnection.on("error", () => {});
      worker = new Worker<JobData>(QUEUE, deliver, {
        connection: workerConnection,
        prefix,
        concurrency: options.concurrency ?? 4,
        lockDuration: lockMs,
        stalledInterval: lockMs,
        // A message caught in several crashes is still tried until its sign-in expires.
        maxStalledCount: 10,
      });
      worker.on("error", () => {
        // Connection trouble: BullMQ reconnects; /healthz shows the backlog meanwhile.
      });
    },
    async close() {
      await worker?.close();
      await queue.close();
      workerConnection?.disconnect();
    },
  };
}

/** BullMQ refuses ids that look like numbers; ours are hex, so they get a word in front. */
function toJobId(id: string): string {
  return `m${id}`;
}

function fromJobId(jobId: string): string {
  return jobId.slice(1);
}
