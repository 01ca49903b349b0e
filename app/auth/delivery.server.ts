import type { PendingLogin } from "./pending.server";
import type { DeliveryState } from "../mail/queue.server";
import type { Services } from "../services.server";

/** What the check-email page says about this browser's email (S32). */
export interface DeliveryView {
  state: DeliveryState;
  /** When the relay took it (ISO), once sent. */
  sentAt?: string;
  /** Seconds since then, when this browser asked again too soon ("sent 20 s ago"). */
  sentSecondsAgo?: number;
  /** Seconds until it may ask again, when it asked too soon ("send again in 40 s"). */
  againInSeconds?: number;
  /** Whether the page should keep asking (the state can still change). */
  settled: boolean;
  /**
   * "provider": the sign-in provider sends this email itself (BlockID, WorkOS with
   * `WORKOS_EMAIL=workos`). "sent" then means only that it took the request; when, or
   * whether, it delivers is not ours to see.
   */
  by?: "provider";
}

/**
 * The delivery state of the email this browser's pending sign-in names. The id comes from
 * the sealed pending cookie only, so no other browser can ask about it.
 *
 * A pending sign-in whose email the queue does not know is one whose request sent nothing
 * (throttled, S11) or whose provider sends the email itself. With the app's own mail it
 * reads "Sending…" for as long as a queued email typically takes here, then "sent",
 * exactly like a delivered one, so that no browser learns from this page whether mail went
 * out (S13). When the provider sends the email, the request only answered once the provider
 * had taken it: the page says that much, and no more (a throttled request reads the same).
 */
export async function deliveryView(
  services: Pick<Services, "mailQueue" | "pending" | "config">,
  pending: PendingLogin,
): Promise<DeliveryView> {
  const { mailQueue } = services;
  const now = services.pending.now();
  const status = pending.mailId ? await mailQueue.status(pending.mailId) : null;
  let state: DeliveryState;
  let sentAt: number | undefined;
  let by: DeliveryView["by"];
  if (status) {
    state = status.state;
    // Measured on the queue's clock from when it was queued, shown on the pending sign-in's
    // (the same clock in production; a test's own clock otherwise).
    sentAt =
      status.sentAt === undefined
        ? undefined
        : pending.sentAt + Math.max(0, status.sentAt - status.queuedAt);
  } else if (!services.config.appSendsMail) {
    // No queue to watch, and no time of our own to make up: when it was asked for.
    state = "sent";
    sentAt = pending.sentAt;
    by = "provider";
  } else {
    const shownAt = pending.sentAt + mailQueue.typicalDeliveryMs();
    state = now < shownAt ? "queued" : "sent";
    sentAt = state === "sent" ? shownAt : undefined;
  }
  const view: DeliveryView = {
    state,
    sentAt: sentAt === undefined ? undefined : new Date(sentAt).toISOString(),
    settled: state === "sent" || state === "failed",
    ...(by ? { by } : {}),
  };
  if (pending.againAt !== undefined && pending.againAt > now) {
    view.againInSeconds = Math.max(1, Math.ceil((pending.againAt - now) / 1000));
    if (sentAt !== undefined) view.sentSecondsAgo = Math.max(0, Math.round((now - sentAt) / 1000));
  }
  return view;
}
