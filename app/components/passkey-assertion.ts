import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from "@simplewebauthn/browser";

/**
 * Signing in with a passkey in the browser, on the Web Authentication API itself: the
 * server's JSON options become the binary ones `navigator.credentials.get` takes, and its
 * assertion becomes the JSON the server verifies (the shapes of @simplewebauthn/server).
 * That is all a sign-in needs of the library's browser half, so the sign-in page loads no
 * library at all, not even when the browser's passkey suggestions start on first paint
 * (registration, on /account/passkeys, still uses the library).
 */

/** The sign-in ceremony under way: starting another cancels it (one at a time, per page). */
let ongoing: AbortController | undefined;

/**
 * Ask the browser for a passkey's assertion. `autofill` waits for the person to pick a
 * passkey among the email field's suggestions (conditional mediation, whose allow list
 * must be empty); otherwise the browser asks at once. Rejects when the person declines,
 * when the ceremony is cancelled, and when the browser gives nothing.
 */
export async function getAssertion(
  options: PublicKeyCredentialRequestOptionsJSON,
  autofill: boolean,
): Promise<AuthenticationResponseJSON> {
  ongoing?.abort();
  const controller = new AbortController();
  ongoing = controller;
  const allowCredentials = autofill
    ? []
    : options.allowCredentials?.map((descriptor): PublicKeyCredentialDescriptor => ({
        type: "public-key",
        id: fromBase64Url(descriptor.id),
        transports: descriptor.transports as AuthenticatorTransport[] | undefined,
      }));
  const credential = await navigator.credentials.get({
    ...(autofill ? { mediation: "conditional" as const } : {}),
    // The JSON types' declarations differ from the DOM's only in how they spell buffers.
    publicKey: {
      ...options,
      challenge: fromBase64Url(options.challenge),
      allowCredentials,
    } as PublicKeyCredentialRequestOptions,
    signal: controller.signal,
  });
  if (ongoing === controller) ongoing = undefined;
  if (!credential) throw new Error("No passkey was used.");
  // What a `publicKey` request resolves to; not checked with instanceof, as a password
  // manager's own implementation of the API may not be one.
  const passkey = credential as PublicKeyCredential;
  const response = passkey.response as AuthenticatorAssertionResponse;
  return {
    id: passkey.id,
    rawId: toBase64Url(passkey.rawId),
    type: "public-key",
    response: {
      clientDataJSON: toBase64Url(response.clientDataJSON),
      authenticatorData: toBase64Url(response.authenticatorData),
      signature: toBase64Url(response.signature),
      userHandle: response.userHandle ? toBase64Url(response.userHandle) : undefined,
    },
    clientExtensionResults: passkey.getClientExtensionResults(),
    authenticatorAttachment: (passkey.authenticatorAttachment ?? undefined) as
      AuthenticationResponseJSON["authenticatorAttachment"] | undefined,
  };
}

/** Cancel the ceremony under way, if any (the page is left, or the suggestions restart). */
export function cancelAssertion(): void {
  ongoing?.abort();
  ongoing = undefined;
}

/**
 * Tell the browser that a passkey it offered is unknown here (WebAuthn's Signal API), so the
 * device can stop offering it. A browser without the API is simply not told.
 */
export async function signalUnknownCredential(rpId: string, credentialId: string): Promise<void> {
  const api = PublicKeyCredential as unknown as {
    signalUnknownCredential?: (what: { rpId: string; credentialId: string }) => Promise<void>;
  };
  await api.signalUnknownCredential?.({ rpId, credentialId });
}

/** Base64url (no padding), as WebAuthn's JSON forms carry binary values. */
export function toBase64Url(buffer: ArrayBuffer): string {
  let binary = "";
  for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The bytes of a base64url string, with or without padding. */
export function fromBase64Url(text: string): ArrayBuffer {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), "="));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0)).buffer;
}
