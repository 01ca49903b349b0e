import { isAuthError } from "../../adapters/errors";
import type { AuthAdapter, ProviderSession } from "../../adapters/types";
import { systemClock, type Clock } from "../lib/clock";
import type { Logger } from "../lib/log.server";
import type { Store } from "../store/types";
import type { EndedSessions } from "./session.server";

/** One provider sign-out still to do: one session, or every session of a provider user. */
interface Job {
  kind: "one" | "all";
  /** The provider session id ("one") or provider user id ("all"). */
  target: string;
  /** For "one": the provider user the session belongs to. */
  userId?: string;
  attempts: number;
  /** Not before this time (ms): the backoff after a failure. */
  nextAt: number;
  createdAt: number;
}

export interface ProviderSignOutOptions {
  store: Store;
  /** The adapter whose provider sessions end (its `endSession` / `endAllSessions`). */
  adapter: Pick<AuthAdapter, "endSession" | "endAllSessions">;
  clock?: Clock;
  log: Logger;
  /** How long a sign-out waits for the provider before answering anyway, ms (default 2000). */
  waitMs?: number;
  /** How long a failed sign-out is retried, ms (default 7 days: as long as a session lives). */
  retryForMs?: number;
  /** First retry delay, ms, doubled per failure up to 30 minutes (default 30 000). */
  retryDelayMs?: number;
}

export interface ProviderSignOut {
  /** The session manager's `onEnded`: end the provider sessions, bounded; queue what fails. */
  ended(ended: EndedSessions): Promise<void>;
  /** Retry the queued sign-outs that are due; resolves with how many succeeded and failed. */
  retryDue(): Promise<{ done: number; failed: number }>;
  /** How many sign-outs are waiting for the provider. */
  pending(): Promise<number>;
  /** Retry due sign-outs every `intervalMs` (the timer does not keep the process alive). */
  start(intervalMs?: number): void;
  stop(): void;
}

/** The queue's index key, and its bound (one member per pending sign-out). */
const QUEUE = "provider-signout:queue";
const MAX_QUEUED = 10_000;
const MAX_DELAY_MS = 30 * 60_000;

const jobKey = (id: string) => `provider-signout:job:${id}`;

/**
 * Ending the provider's sessions when ours end, without ever holding up sign-out. The
 * local sign-out has already happened when this runs (the cookie is dead on the server);
 * this only tells the provider. Each sign-out is first written to a queue in the store,
 * then tried for at most `waitMs`; a failure, a timeout or a process that dies leaves it in
 * the queue, and `retryDue` (on a timer in every instance) tries again with backoff until
 * it succeeds or `retryForMs` passes. Every outcome is logged. Ending a provider session
 * twice is harmless, so two instances retrying the same entry do no damage.
 */
export function createProviderSignOut(options: ProviderSignOutOptions): ProviderSignOut {
  const { store, adapter, log } = options;
  const clock = options.clock ?? systemClock;
  const waitMs = options.waitMs ?? 2_000;
  const retryForMs = options.retryForMs ?? 7 * 86_400_000;
  const retryDelayMs = options.retryDelayMs ?? 30_000;
  let timer: ReturnType<typeof setInterval> | undefined;
  let retrying: Promise<{ done: number; failed: number }> | undefined;

  async function run(job: Job): Promise<void> {
    if (job.kind === "one") {
      if (!adapter.endSession) return;
      await adapter.endSession({ id: job.target, userId: job.userId ?? "" });
    } else if (adapter.endAllSessions) {
      await adapter.endAllSessions(job.target);
    }
  }

  /** One attempt; the job leaves the queue on success and is rescheduled on failure. */
  async function attempt(id: string, job: Job): Promise<boolean> {
    try {
      await run(job);
    } catch (error) {
      const code = isAuthError(error) ? error.code : "unavailable";
      const attempts = job.attempts + 1;
      const delay = Math.min(MAX_DELAY_MS, retryDelayMs * 2 ** (attempts - 1));
      const next: Job = { ...job, attempts, nextAt: clock() + delay };
      const remaining = job.createdAt + retryForMs - clock();
      log({
        step: "provider_logout",
        outcome: remaining > 0 ? `retry_queued:${code}` : `given_up:${code}`,
        requestId: isAuthError(error) ? error.requestId : undefined,
      });
      await (remaining > 0 ? store.set(jobKey(id), JSON.stringify(next), remaining) : forget(id));
      return false;
    }
    log({ step: "provider_logout", outcome: job.attempts > 0 ? "success_retried" : "success" });
    await forget(id);
    return true;
  }

  async function forget(id: string): Promise<void> {
    await Promise.all([store.delete(jobKey(id)), store.indexRemove(QUEUE, id)]);
  }

  async function enqueue(id: string, job: Job): Promise<void> {
    await store.set(jobKey(id), JSON.stringify(job), retryForMs);
    await store.indexAdd(QUEUE, id, job.createdAt + retryForMs, MAX_QUEUED);
  }

  /** Queue, then try at most `waitMs`; the attempt goes on in the background past that. */
  async function submit(id: string, job: Job): Promise<void> {
    try {
      await enqueue(id, job);
    } catch {
      // The store did not answer: still try once now; there is nothing to retry from.
      log({ step: "provider_logout", outcome: "not_queued:store_unavailable" });
    }
    // Stryker disable next-line ArrowFunction,BooleanLiteral: only told apart from "late", never read
    const tried = attempt(id, job).catch(() => false);
    let timeout: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => {
      timeout = setTimeout(() => resolve("late"), waitMs);
    });
    const outcome = await Promise.race([tried, late]);
    clearTimeout(timeout);
    if (outcome === "late") log({ step: "provider_logout", outcome: "slow:continuing" });
  }

  return {
    async ended(event) {
      const now = clock();
      const jobs: [string, Job][] = [];
      if (event.everywhere && adapter.endAllSessions) {
        const users = new Set(event.providerSessions.map((ps: ProviderSession) => ps.userId));
        for (const userId of users) {
          if (!userId) continue;
          jobs.push([
            `all:${userId}`,
            { kind: "all", target: userId, attempts: 0, nextAt: now, createdAt: now },
          ]);
        }
      } else if (adapter.endSession) {
        for (const ps of event.providerSessions) {
          jobs.push([
            `one:${ps.id}`,
            {
              kind: "one",
              target: ps.id,
              userId: ps.userId,
              attempts: 0,
              nextAt: now,
              createdAt: now,
            },
          ]);
        }
      }
      await Promise.all(jobs.map(([id, job]) => submit(id, job)));
    },
    retryDue() {
      // One pass at a time per instance: a slow provider must not pile up passes.
      retrying ??= (async () => {
        let done = 0;
        let failed = 0;
        const ids = await store.indexMembers(QUEUE);
        for (const id of ids) {
          const raw = await store.get(jobKey(id));
          if (raw === null) {
            await store.indexRemove(QUEUE, id);
            continue;
          }
          let job: Job;
          try {
            job = JSON.parse(raw) as Job;
          } catch {
            await forget(id);
            continue;
          }
          if (job.nextAt > clock()) continue;
          if (await attempt(id, job)) done += 1;
          else failed += 1;
        }
        return { done, failed };
      })().finally(() => {
        retrying = undefined;
      });
      return retrying;
    },
    async pending() {
      return (await store.indexMembers(QUEUE)).length;
    },
    start(intervalMs = 30_000) {
      if (timer) return;
      timer = setInterval(() => {
        this.retryDue().catch(() => {
          // The store is down: the next tick tries again.
        });
      }, intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
