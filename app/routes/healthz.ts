import type { Route } from "./+types/healthz";
import { isDraining } from "../lib/lifecycle.server";
import { getServices } from "../services.server";

/**
 * 200 when the server and its store answer; 503 otherwise, and while the server shuts down
 * (a load balancer's probe: take this instance out before it goes).
 */
export async function loader(_: Route.LoaderArgs) {
  const { store } = getServices();
  const headers = { "Cache-Control": "no-store" };
  if (isDraining()) return Response.json({ status: "draining" }, { status: 503, headers });
  try {
    await withTimeout(store.ping(), 2000);
    return Response.json({ status: "ok", store: "ok" }, { headers });
  } catch {
    return Response.json({ status: "degraded", store: "unavailable" }, { status: 503, headers });
  }
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
