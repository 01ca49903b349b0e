import { expect } from "vitest";
import * as status from "../../app/routes/login.status";
import type { DeliveryView } from "../../app/auth/delivery.server";
import { callRoute, getRequest, type CookieJar } from "./auth";

/** What GET /login/status tells `jar`'s browser about its email (null: no pending sign-in). */
export async function deliveryOf(jar: CookieJar): Promise<DeliveryView | null> {
  const result = await callRoute(status.loader, getRequest("/login/status", { cookie: jar }));
  return result.status === 200 ? (result.data as DeliveryView) : null;
}

/**
 * Poll /login/status as the check page does until `jar`'s email reaches `state`; fails the
 * test after `timeoutMs` (generous: the machine may be busy), naming the states seen.
 */
export async function waitForDelivery(
  jar: CookieJar,
  state: DeliveryView["state"],
  timeoutMs = 10_000,
): Promise<DeliveryView> {
  const deadline = Date.now() + timeoutMs;
  const seen: string[] = [];
  for (;;) {
    const view = await deliveryOf(jar);
    const now = view?.state ?? "none";
    if (seen.at(-1) !== now) seen.push(now);
    if (view?.state === state) return view;
    if (Date.now() > deadline) {
      expect.fail(
        `delivery never became '${state}' within ${timeoutMs} ms (saw ${seen.join(" → ")})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
