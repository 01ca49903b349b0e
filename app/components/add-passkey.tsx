import { useState, type FormEvent } from "react";
import type * as WebAuthnBrowserModule from "@simplewebauthn/browser";
import { useSubmit } from "react-router";
import { describePasskeyRegistrationError } from "../auth/passkey-registration-messages";
import { Button } from "./ui";
import * as ui from "./ui.css";
import { fetchOptions, useWebAuthnSupport } from "./webauthn";

type WebAuthnBrowser = typeof WebAuthnBrowserModule;

let library: Promise<WebAuthnBrowser> | undefined;

/**
 * The WebAuthn browser library, fetched the first time a passkey is added: a chunk of its
 * own, which the passkeys page loads only when someone asks for a new passkey. (Signing in
 * needs none of it: app/components/passkey-assertion.ts.)
 */
function loadWebAuthn(): Promise<WebAuthnBrowser> {
  library ??= import("@simplewebauthn/browser");
  return library;
}

type RegistrationOptions = Parameters<WebAuthnBrowser["startRegistration"]>[0]["optionsJSON"];

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
        {describePasskeyRegistrationError({ code: "invalid", problem: "limit" }).message}
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
      // The library and the server's options side by side: the first use waits for one
      // round trip, not two.
      const [lib, got] = await Promise.all([
        loadWebAuthn(),
        fetchOptions<RegistrationOptions>("/account/passkeys/options"),
      ]);
      if ("error" in got) {
        setMessage(describePasskeyRegistrationError(got.error).message);
        return;
      }
      const credential = await lib.startRegistration({ optionsJSON: got.options });
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
