import { useEffect, useRef, useState, useSyncExternalStore, type FormEvent } from "react";
import type * as WebAuthnBrowserModule from "@simplewebauthn/browser";
import { useSubmit } from "react-router";
import { describePasskeyError, type PasskeyErrorView } from "../auth/passkey-messages";
import { Button } from "./ui";
import * as ui from "./ui.css";

type WebAuthnBrowser = typeof WebAuthnBrowserModule;

let library: Promise<WebAuthnBrowser> | undefined;

/**
 * The WebAuthn browser library, fetched the first time a passkey is used: it is a chunk of
 * its own, so the sign-in page's bundle stays as small as it was for browsers that never
 * touch a passkey.
 */
function loadWebAuthn(): Promise<WebAuthnBrowser> {
  library ??= import("@simplewebauthn/browser");
  return library;
}

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

type OptionsAnswer<T> = { options: T } | { error: PasskeyErrorView };

/** POST to one of the options routes; network and server failures come back as an error view. */
async function fetchOptions<T>(url: string): Promise<OptionsAnswer<T>> {
  try {
    const response = await fetch(url, { method: "POST", credentials: "same-origin" });
    const body = (await response.json()) as OptionsAnswer<T>;
    if ("options" in body || "error" in body) return body;
  } catch {
    // Offline, or an answer that is not ours.
  }
  return { error: { code: "unavailable" } };
}

type AuthenticationOptions = Parameters<WebAuthnBrowser["startAuthentication"]>[0]["optionsJSON"];
type RegistrationOptions = Parameters<WebAuthnBrowser["startRegistration"]>[0]["optionsJSON"];

/**
 * What a ceremony needs before the browser can start it: the library and the server's options,
 * fetched side by side so the first use waits for one round trip, not two. A refusal comes
 * back as the words to show.
 */
async function prepareCeremony<T>(
  url: string,
): Promise<{ lib: WebAuthnBrowser; options: T } | { message: string }> {
  const [lib, got] = await Promise.all([loadWebAuthn(), fetchOptions<T>(url)]);
  return "options" in got
    ? { lib, options: got.options }
    : { message: describePasskeyError(got.error).message };
}

/** Seconds before a sign-in challenge expires on the server that the page asks for a fresh one. */
const AUTOFILL_REFRESH_MS = 4 * 60_000;

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
    void library?.then((lib) =>
      lib
        .sendSignal({
          signalName: "unknownCredential",
          rpID: used.rpId,
          credentialID: used.credentialId,
        })
        .catch(() => {}),
    );
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
      const got = await prepareCeremony<AuthenticationOptions>("/auth/passkey");
      if ("message" in got || stopped || modal.current) return;
      // A fresh challenge before this one expires, so suggestions keep working on an open tab.
      timer = setTimeout(() => void autofill(), AUTOFILL_REFRESH_MS);
      try {
        const credential = await got.lib.startAuthentication({
          optionsJSON: got.options,
          useBrowserAutofill: true,
        });
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
      void library?.then((lib) => lib.WebAuthnAbortService.cancelCeremony());
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `post` is new each render; `answer` restarts
  }, [supported, answer]);

  if (!supported) return null;

  async function signInWithPasskey() {
    modal.current = true;
    setBusy(true);
    setMessage(null);
    try {
      const got = await prepareCeremony<AuthenticationOptions>("/auth/passkey");
      if ("message" in got) {
        setMessage(got.message);
        return;
      }
      const credential = await got.lib.startAuthentication({ optionsJSON: got.options });
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

/**
 * "Add a passkey" on /account/passkeys: asks the server for options bound to this session,
 * lets the browser make the passkey, and posts it back with `intent=add`. Without WebAuthn
 * (or without JavaScript) it says what is needed instead.
 */
export function AddPasskey({ full }: { full: boolean }) {
  const supported = useWebAuthnSupport();
  const submit = useSubmit();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);

  if (!supported) {
    return (
      <p className={ui.muted} data-testid="passkey-unsupported">
        To add a passkey, open this page in a browser that supports passkeys, with JavaScript turned
        on. Most current browsers on phones and computers do.
      </p>
    );
  }
  if (full) {
    return (
      <p className={ui.muted}>
        {describePasskeyError({ code: "invalid", problem: "limit" }).message}
      </p>
    );
  }

  async function add(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const name = String(new FormData(form).get("name") ?? "");
    setBusy(true);
    setMessage(null);
    try {
      const got = await prepareCeremony<RegistrationOptions>("/account/passkeys/options");
      if ("message" in got) {
        setMessage(got.message);
        return;
      }
      const credential = await got.lib.startRegistration({ optionsJSON: got.options });
      submit(
        { intent: "add", credential: JSON.stringify(credential), name },
        { method: "post", action: "/account/passkeys" },
      );
      form.reset();
    } catch (error) {
      const code = (error as { code?: string }).code;
      setMessage(
        code === "ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED"
          ? "This device already has a passkey for your account."
          : "No passkey was added. Try again when you are ready.",
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className={ui.form} onSubmit={(event) => void add(event)} data-testid="add-passkey">
      <div className={ui.field}>
        <label htmlFor="passkey-name" className={ui.label}>
          Name (optional)
        </label>
        <input
          id="passkey-name"
          name="name"
          type="text"
          maxLength={64}
          autoComplete="off"
          placeholder="For example: My phone"
          className={ui.input}
        />
      </div>
      <Button type="submit" pending={busy} pendingLabel="Waiting for your device…">
        Add a passkey
      </Button>
      {message ? (
        <p role="status" className={ui.muted}>
          {message}
        </p>
      ) : null}
    </form>
  );
}
