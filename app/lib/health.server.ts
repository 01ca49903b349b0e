import { getServices } from "../services.server";
import { isDraining } from "./lifecycle.server";

/** The oldest undelivered email may wait this long before the queue reports itself degraded. */
const MAIL_DEGRADED_AFTER_MS = 60_000;

/** What /healthz answers: its status and its JSON body (always sent with no-store). */
export interface Health {
  status: 200 | 503;
  body: Record<string, string | number>;
}

/**
 * 200 when the server and its store answer; 503 otherwise, and while the server shuts down
 * (a load balancer's probe: take this instance out before it goes). The mail queue is
 * reported but never fails the check: a slow relay is no reason to take the instance out of
 * rotation, when sign-ins and sessions still work.
 *
 * Shared by the route (app/routes/healthz.ts, for `react-router dev`) and by server.js,
 * which answers /healthz before the request reaches React Router: a probe has no session,
 * no page and no route to match, and should cost a fraction of a page (issue 15).
 */
export async function checkHealth(): Promise<Health> {
  if (isDraining()) return { status: 503, body: { status: "draining" } };
  const { store, mailQueue } = getServices();
  // Asked alongside the store, not after it, so that a hung Redis costs one timeout.
  const [mail, storeUp] = await Promise.all([
    withTimeout(mailQueue.health(), 1000).then(
      ({ backlog, oldestAgeMs }) => ({
        mail: oldestAgeMs > MAIL_DEGRADED_AFTER_MS ? "degraded" : "ok",
        mailBacklog: backlog,
        mailOldestAgeSeconds: Math.round(oldestAgeMs / 1000),
      }),
      () => ({ mail: "degraded" }),
    ),
    withTimeout(store.ping(), 2000).then(
      () => true,
      // Stryker disable next-line ArrowFunction: undefined is as false as false to the test below
      () => false,
    ),
  ]);
  if (storeUp) return { status: 200, body: { status: "ok", store: "ok", ...mail } };
  return { status: 503, body: { status: "degraded", store: "unavailable", ...mail } };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // Stryker disable next-line StringLiteral: the error's message is never read
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
