import { data, Form, Link, redirect, useActionData } from "react-router";
import type { Route } from "./+types/account.sessions";
import { getUser, requireSession } from "../auth/flow.server";
import { field, readForm } from "../auth/form.server";
import { SignOutEverywhere } from "../components/forms";
import { Button, Card, Notice } from "../components/ui";
import { formatTime } from "../lib/format-time";
import * as ui from "../components/ui.css";
import { hashEmail } from "../lib/log.server";
import { describeUserAgent } from "../lib/user-agent";
import { getServices } from "../services.server";

export const meta: Route.MetaFunction = () => [{ title: "Your sessions" }];

/** One row of the page: nothing here can sign anyone in or identify a session's cookie. */
export interface SessionRow {
  /** The public handle (a digest of the session id) that the revoke form posts back. */
  handle: string;
  current: boolean;
  /** e.g. "Firefox on Linux", or "Unknown browser". */
  browser: string;
  /** e.g. "203.0.113.0/24", or null when unknown. */
  network: string | null;
  createdAt: string;
  lastSeenAt: string;
}

/** Every active session of the signed-in person, the current one first and marked. */
export async function loader({ request }: Route.LoaderArgs) {
  const current = await requireSession(request);
  const { sessions } = getServices();
  const currentHandle = sessions.handleOf(current.id);
  const listed = await sessions.list(current.user.id);
  const rows: SessionRow[] = listed.map((s) => ({
    handle: s.handle,
    current: s.handle === currentHandle,
    browser: describeUserAgent(s.userAgent),
    network: s.network ?? null,
    createdAt: new Date(s.createdAt).toISOString(),
    lastSeenAt: new Date(s.lastSeenAt).toISOString(),
  }));
  // A session from before the index existed is not listed until its first roll; it is
  // still the one in use, so show what its cookie says.
  if (!rows.some((row) => row.current)) {
    rows.push({
      handle: currentHandle,
      current: true,
      browser: describeUserAgent(request.headers.get("User-Agent") ?? undefined),
      network: null,
      createdAt: new Date(current.issuedAt).toISOString(),
      lastSeenAt: new Date(current.lastSeenAt).toISOString(),
    });
  }
  rows.sort((a, b) => Number(b.current) - Number(a.current));
  return { sessions: rows };
}

/**
 * `intent=revoke` with `sessionId` (a handle from the page) ends that session (S22): its
 * cookie fails from the next request on, on every instance. Only the person's own sessions
 * can be named; any other handle is a 404 and revokes nothing. Revoking the current
 * session signs this browser out.
 */
export async function action({ request }: Route.ActionArgs) {
  const current = await requireSession(request);
  const services = getServices();
  const form = await readForm(request);
  if (field(form, "intent") !== "revoke") {
    return data(
      { error: "Unknown action." },
      { status: 400, headers: { "Cache-Control": "no-store" } },
    );
  }
  const handle = field(form, "sessionId").slice(0, 64);
  const isCurrent = handle === services.sessions.handleOf(current.id);
  const user = await getUser(request);
  const revoked = await services.sessions.revoke(current.user.id, handle);
  if (!revoked && !isCurrent) {
    return data(
      { error: "That session has already ended." },
      { status: 404, headers: { "Cache-Control": "no-store" } },
    );
  }
  services.log({
    step: isCurrent ? "logout" : "revoke",
    outcome: "success",
    adapter: current.user.adapter,
    emailHash: user ? hashEmail(user.email) : undefined,
  });
  if (isCurrent) {
    const headers = new Headers({ "Cache-Control": "no-store" });
    headers.append("Set-Cookie", await services.sessions.destroy(request));
    throw redirect("/", { status: 303, headers });
  }
  // Post/redirect/get: a reload does not post again.
  throw redirect("/account/sessions", { status: 303, headers: { "Cache-Control": "no-store" } });
}

export default function AccountSessions({ loaderData }: Route.ComponentProps) {
  const actionData = useActionData<typeof action>();
  const { sessions } = loaderData;
  return (
    <Card>
      <h1 className={ui.heading}>Your sessions</h1>
      <p className={ui.muted}>
        Every browser where you are signed in. End any you do not recognise.
      </p>
      {actionData?.error ? <Notice tone="danger">{actionData.error}</Notice> : null}
      <ul className={ui.stack} data-testid="sessions">
        {sessions.map((s) => (
          <li key={s.handle} data-current={s.current || undefined}>
            <p className={ui.text}>
              <strong>{s.browser}</strong>
              {s.current ? " (this browser)" : null}
            </p>
            <p className={ui.muted}>
              Signed in <time dateTime={s.createdAt}>{formatTime(s.createdAt)}</time>, last seen{" "}
              <time dateTime={s.lastSeenAt}>{formatTime(s.lastSeenAt)}</time>
              {s.network ? `, from ${s.network}` : null}
            </p>
            <Form method="post" className={ui.itemAction}>
              <input type="hidden" name="intent" value="revoke" />
              <input type="hidden" name="sessionId" value={s.handle} />
              <Button type="submit" kind="secondary">
                {s.current ? "Sign out of this browser" : "End this session"}
              </Button>
            </Form>
          </li>
        ))}
      </ul>
      <SignOutEverywhere />
      <p className={ui.muted}>
        Signing out ends sessions only; your <Link to="/account/passkeys">passkeys</Link> keep
        working until you remove them.
      </p>
    </Card>
  );
}
