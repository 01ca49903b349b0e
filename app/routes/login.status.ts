import type { Route } from "./+types/login.status";
import { deliveryView } from "../auth/delivery.server";
import { getServices } from "../services.server";

/**
 * The delivery state of this browser's sign-in email, for the check-email page to poll
 * (S32). Read with the pending-login cookie only: without it there is nothing to report.
 */
export async function loader({ request }: Route.LoaderArgs) {
  const services = getServices();
  const headers = { "Cache-Control": "no-store" };
  const pending = await services.pending.read(request);
  if (!pending) return Response.json({ state: null }, { status: 404, headers });
  try {
    return Response.json(await deliveryView(services, pending), { headers });
  } catch {
    // The queue's store is down: the page keeps what it shows and asks again.
    return Response.json({ state: null }, { status: 503, headers });
  }
}
