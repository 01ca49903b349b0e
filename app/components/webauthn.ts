import { useSyncExternalStore } from "react";
import type { PasskeyErrorView } from "../auth/passkey-messages";

/** True once hydrated in a browser that can use passkeys; false on the server and without JavaScript. */
export function useWebAuthnSupport(): boolean {
  return useSyncExternalStore(
    noSubscription,
    () => typeof window.PublicKeyCredential === "function",
    () => false,
  );
}

/** Support does not change while the page is open. */
const noSubscription = () => () => {};

/** The answer of one of the options routes (/auth/passkey, /account/passkeys/options). */
export type OptionsAnswer<T> = { options: T } | { error: PasskeyErrorView };

/** POST to one of the options routes; network and server failures come back as an error view. */
export async function fetchOptions<T>(url: string): Promise<OptionsAnswer<T>> {
  try {
    const response = await fetch(url, { method: "POST", credentials: "same-origin" });
    const body = (await response.json()) as OptionsAnswer<T>;
    if ("options" in body || "error" in body) return body;
  } catch {
    // Offline, or an answer that is not ours.
  }
  return { error: { code: "unavailable" } };
}
