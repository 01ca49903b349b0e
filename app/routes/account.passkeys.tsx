import { data, Form, Link, redirect, useActionData } from "react-router";
import type { Route } from "./+types/account.passkeys";
import { requireSession, requireUser } from "../auth/flow.server";
import { field, readForm } from "../auth/form.server";
import type { PasskeyErrorView } from "../auth/passkey-messages";
import { describePasskeyRegistrationError } from "../auth/passkey-registration-messages";
import { cleanName, MAX_PASSKEY_NAME, MAX_PASSKEYS_PER_USER } from "../auth/passkey-rules";
import { passkeyProblem } from "../auth/passkeys.server";
import { isAuthError } from "../../adapters/errors";
import { AddPasskey } from "../components/add-passkey";
import { Button, Card, ErrorAlert, Notice } from "../components/ui";
import { formatTime } from "../lib/format-time";
import * as ui from "../components/ui.css";
import { hashEmail } from "../lib/log.server";
import { describeUserAgent } from "../lib/user-agent";
import { getServices } from "../services.server";

export const meta: Route.MetaFunction = () => [{ title: "Your passkeys" }];

/** One row of the page: a name and dates; the credential itself never leaves the server. */
export interface PasskeyRow {
  /** The public handle that the rename and remove forms post back. */
  handle: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  synced: boolean;
}

const DONE = {
  added: "Passkey added. Next time, choose “Sign in with a passkey”.",
  renamed: "Passkey renamed.",
  removed: "Passkey removed. It can no longer sign you in.",
} as const;

export async function loader({ request }: Route.LoaderArgs) {
  const session = await requireSession(request);
  const listed = await getServices().passkeys.list(session.user.id);
  const done = new URL(request.url).searchParams.get("done");
  const rows: PasskeyRow[] = listed.map((p) => ({
    handle: p.handle,
    name: p.name,
    createdAt: new Date(p.createdAt).toISOString(),
    lastUsedAt: p.lastUsedAt === null ? null : new Date(p.lastUsedAt).toISOString(),
    synced: p.synced,
  }));
  return {
    passkeys: rows,
    max: MAX_PASSKEYS_PER_USER,
    done: done && done in DONE ? DONE[done as keyof typeof DONE] : null,
  };
}

function failure(error: PasskeyErrorView, status: number) {
  return data({ error }, { status, headers: { "Cache-Control": "no-store" } });
}

/**
 * `intent=add` with `credential` (the browser's registration, JSON) and an optional `name`;
 * `intent=rename` with `passkey` (a handle from the page) and `name`; `intent=remove` with
 * `passkey`. Only the person's own passkeys can be named: any other handle is a 404 and
 * changes nothing. Each success answers with a 303 back here (post/redirect/get).
 */
export async function action({ request }: Route.ActionArgs) {
  const session = await requireSession(request);
  const user = await requireUser(request);
  const { passkeys, log } = getServices();
  const form = await readForm(request);
  const intent = field(form, "intent");
  const logLine = (step: "passkey_add" | "passkey_rename" | "passkey_remove", outcome: string) =>
    log({ step, outcome, adapter: session.user.adapter, emailHash: hashEmail(user.email) });
  const back = (done: keyof typeof DONE) =>
    redirect(`/account/passkeys?done=${done}`, {
      status: 303,
      headers: { "Cache-Control": "no-store" },
    });

  if (intent === "add") {
    let response: unknown;
    try {
      response = JSON.parse(field(form, "credential"));
    } catch {
      return failure({ code: "invalid_input" }, 400);
    }
    try {
      await passkeys.register(session.id, user, response, {
        name: field(form, "name").slice(0, 256) || undefined,
        defaultName: describeUserAgent(request.headers.get("User-Agent") ?? undefined),
      });
    } catch (error) {
      if (!isAuthError(error)) throw error;
      const problem = passkeyProblem(error);
      logLine("passkey_add", `${error.code}:${problem ?? "not_verified"}`);
      return failure({ code: error.code, problem }, error.code === "unavailable" ? 503 : 400);
    }
    logLine("passkey_add", "success");
    throw back("added");
  }
  if (intent === "rename" || intent === "remove") {
    const handle = field(form, "passkey").slice(0, 64);
    const name = field(form, "name").slice(0, 256);
    if (intent === "rename" && cleanName(name) === undefined) {
      return data(
        { message: "Give the passkey a name." },
        { status: 400, headers: { "Cache-Control": "no-store" } },
      );
    }
    const changed =
      intent === "rename"
        ? await passkeys.rename(user.id, handle, name)
        : await passkeys.remove(user.id, handle);
    if (!changed) {
      return data(
        { message: "That passkey is not on your account any more." },
        { status: 404, headers: { "Cache-Control": "no-store" } },
      );
    }
    logLine(intent === "rename" ? "passkey_rename" : "passkey_remove", "success");
    throw back(intent === "rename" ? "renamed" : "removed");
  }
  return data(
    { message: "Unknown action." },
    { status: 400, headers: { "Cache-Control": "no-store" } },
  );
}

export default function AccountPasskeys({ loaderData }: Route.ComponentProps) {
  const actionData = useActionData<typeof action>();
  const { passkeys, max, done } = loaderData;
  const error = actionData && "error" in actionData ? actionData.error : undefined;
  const message = actionData && "message" in actionData ? actionData.message : undefined;
  return (
    <Card>
      <h1 className={ui.heading}>Your passkeys</h1>
      <p className={ui.text}>
        A passkey signs you in with your fingerprint, face or screen lock, without waiting for an
        email. It stays on your device or in your password manager, and works only on this site.
      </p>
      {done && !actionData ? <Notice tone="success">{done}</Notice> : null}
      {error ? (
        <ErrorAlert error={error} id="passkey-error" describe={describePasskeyRegistrationError} />
      ) : null}
      {message ? <Notice tone="danger">{message}</Notice> : null}
      {passkeys.length === 0 ? (
        <p className={ui.muted} data-testid="no-passkeys">
          You have no passkeys yet.
        </p>
      ) : (
        <ul className={ui.stack} data-testid="passkeys">
          {passkeys.map((p) => (
            <li key={p.handle} className={ui.item}>
              <p className={ui.text}>
                <strong>{p.name}</strong>
                {p.synced ? " (synced across your devices)" : null}
              </p>
              <p className={ui.muted}>
                Added <time dateTime={p.createdAt}>{formatTime(p.createdAt)}</time>,{" "}
                {p.lastUsedAt ? (
                  <>
                    last used <time dateTime={p.lastUsedAt}>{formatTime(p.lastUsedAt)}</time>
                  </>
                ) : (
                  "not used yet"
                )}
              </p>
              <div className={ui.itemAction}>
                <Form method="post" className={ui.inlineForm}>
                  <input type="hidden" name="intent" value="rename" />
                  <input type="hidden" name="passkey" value={p.handle} />
                  <label htmlFor={`name-${p.handle}`} className={ui.label}>
                    Name
                  </label>{" "}
                  <input
                    id={`name-${p.handle}`}
                    name="name"
                    type="text"
                    required
                    maxLength={MAX_PASSKEY_NAME}
                    defaultValue={p.name}
                    className={ui.input}
                  />{" "}
                  <Button type="submit" kind="secondary">
                    Rename
                  </Button>
                </Form>{" "}
                <Form method="post" className={ui.inlineForm}>
                  <input type="hidden" name="intent" value="remove" />
                  <input type="hidden" name="passkey" value={p.handle} />
                  <Button type="submit" kind="secondary" aria-label={`Remove ${p.name}`}>
                    Remove
                  </Button>
                </Form>
              </div>
            </li>
          ))}
        </ul>
      )}
      {passkeys.length > 0 ? (
        <p className={ui.muted}>
          You have {passkeys.length} of at most {max} passkeys.
        </p>
      ) : null}
      <h2 className={ui.sectionHeading}>Add a passkey</h2>
      <AddPasskey full={passkeys.length >= max} />
      <h2 className={ui.sectionHeading}>Lost a device?</h2>
      <p className={ui.text}>
        Remove its passkey here: from then on it signs no one in. “Sign out everywhere” ends your
        sessions but keeps your passkeys, so remove the passkey too. Removing it here does not
        delete it from the device; you can do that in the device’s password or passkey settings.
      </p>
      <p className={ui.text}>
        <Link to="/account/sessions">Your sessions</Link> · <Link to="/dashboard">Dashboard</Link>
      </p>
    </Card>
  );
}
