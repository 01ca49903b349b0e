import type { Route } from "./+types/healthz";
import { checkHealth } from "../lib/health.server";

/**
 * The health check (see {@link checkHealth}). The production server answers /healthz
 * itself before React Router; this route serves it under `react-router dev` and any other
 * server that hands every request to React Router.
 */
export async function loader(_: Route.LoaderArgs) {
  const { status, body } = await checkHealth();
  return Response.json(body, { status, headers: { "Cache-Control": "no-store" } });
}
