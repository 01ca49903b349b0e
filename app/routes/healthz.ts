import type { Route } from "./+types/healthz";
import { isDraining } from "../lib/lifecycle.server";
import { getServices } from "../services.server";

/** The oldest undelivered email may wait this long before the queue reports itself degraded. */
const MAIL_DEGRADED_AFTER_MS = 60_000;

/**
 * 200 when the server and its store answer; 503 otherwise, and while the server shuts down
 * (a load balancer's probe: take this instance out before it goes). The mail queue is
 * reported but never fails the check: a slow relay is no reason to take the instance out of
 * rotation, when sign-ins and sessions still work.
 */
export async function loader(_: Route.LoaderArgs) {
  const { store, mailQueue } = getServices();
  const headers = { "Cache-Control": "no-store" };
  if (isDraining()) return Response.json({ status: "draining" }, { status: 503, headers });
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
      () => false,
    ),
  ]);
  if (storeUp) return Response.json({ status: "ok", store: "ok", ...mail }, { headers });
  return Response.json(
    { status: "degraded", store: "unavailable", ...mail },
    { status: 503, headers },
  );
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
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
