import { useEffect, useRef, useState } from "react";
import type { PublicKeyCredentialRequestOptionsJSON } from "@simplewebauthn/browser";
import { useSubmit } from "react-router";
import { describePasskeyError, type PasskeyErrorView } from "../auth/passkey-messages";
import { cancelAssertion, getAssertion, signalUnknownCredential } from "./passkey-assertion";
import { Button } from "./ui";
import * as ui from "./ui.css";
import { fetchOptions, useWebAuthnSupport } from "./webauthn";

/** Seconds before a sign-in challenge expires on the server that the page asks for a fresh one. */
const AUTOFILL_REFRESH_MS = 4 * 60_000;

/** The server's options for a sign-in, or the words to show when it refused. */
async function signInOptions(): Promise<
  { options: PublicKeyCredentialRequestOptionsJSON } | { message: string }
> {
  const got = await fetchOptions<PublicKeyCredentialRequestOptionsJSON>("/auth/passkey");
  return "options" in got ? got : { message: describePasskeyError(got.error).message };
}

/**
 * "Sign in with a passkey" on /login, and the browser's own passkey suggestions on the email
 * field (conditional mediation: the field has `autocomplete="username webauthn"`). Either
 * way the assertion is posted to /login with `intent=passkey`, where the server verifies it
 * and signs the person in exactly as after an email. Rendered only where WebAuthn works.
 *
 * `answer` is the server's last answer to /login: the suggestions start again after each,
 * and a passkey the server no longer knows is reported to the browser (WebAuthn's Signal
 * API), so that the device can stop offering it.
 */
export function PasskeySignIn({
  returnTo,
  answer,
}: {
  returnTo: string;
  answer: { error?: PasskeyErrorView } | object | undefined;
}) {
  const supported = useWebAuthnSupport();
  const submit = useSubmit();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  // While the button's ceremony runs, the autofill one must not take over again.
  const modal = useRef(false);
  const restartAutofill = useRef<() => void>(() => {});
  // The credential and RP ID of the last assertion posted, for the unknown-credential signal.
  const lastUsed = useRef<{ rpId: string; credentialId: string } | null>(null);

  const post = (credential: { id: string }, rpId: string | undefined) => {
    lastUsed.current = rpId ? { rpId, credentialId: credential.id } : null;
    submit(
      { intent: "passkey", credential: JSON.stringify(credential), returnTo },
      { method: "post", action: "/login" },
    );
  };

  useEffect(() => {
    const used = lastUsed.current;
    const refused = answer && "error" in answer ? answer.error : undefined;
    if (refused?.problem !== "unknown_credential" || !used) return;
    lastUsed.current = null;
    signalUnknownCredential(used.rpId, used.credentialId).catch(() => {});
  }, [answer]);

  useEffect(() => {
    if (!supported) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const autofill = async () => {
      clearTimeout(timer);
      if (stopped || modal.current) return;
      const available = await window.PublicKeyCredential.isConditionalMediationAvailable?.();
      if (!available || stopped || modal.current) return;
      const got = await signInOptions();
      if ("message" in got || stopped || modal.current) return;
      // A fresh challenge before this one expires, so suggestions keep working on an open tab.
      timer = setTimeout(() => void autofill(), AUTOFILL_REFRESH_MS);
      try {
        const credential = await getAssertion(got.options, true);
        clearTimeout(timer);
        if (!stopped) post(credential, got.options.rpId);
      } catch {
        // Replaced by a newer request (the button, or a refresh): nothing to say.
      }
    };
    restartAutofill.current = () => void autofill();
    void autofill();
    return () => {
      stopped = true;
      clearTimeout(timer);
      cancelAssertion();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `post` is new each render; `answer` restarts
  }, [supported, answer]);

  if (!supported) return null;

  async function signInWithPasskey() {
    modal.current = true;
    setBusy(true);
    setMessage(null);
    try {
      const got = await signInOptions();
      if ("message" in got) {
        setMessage(got.message);
        return;
      }
      const credential = await getAssertion(got.options, false);
      post(credential, got.options.rpId);
    } catch {
      setMessage("No passkey was used. Try again, or get an email instead.");
    } finally {
      modal.current = false;
      setBusy(false);
    }
    restartAutofill.current();
  }

  return (
    <div className={ui.form} data-testid="passkey-sign-in">
      <p className={ui.muted}>Or use a passkey: your fingerprint, face or screen lock.</p>
      <Button
        type="button"
        kind="secondary"
        onClick={() => void signInWithPasskey()}
        pending={busy}
        pendingLabel="Waiting for your passkey…"
      >
        Sign in with a passkey
      </Button>
      {message ? (
        <p role="status" className={ui.muted}>
          {message}
        </p>
      ) : null}
    </div>
  );
}
