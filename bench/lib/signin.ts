import type autocannon from "autocannon";
import type { ReadEmail } from "../../tests/support/mail";
import type { SmtpSink } from "../../tests/support/smtp-sink";
import { load } from "./load";
import type { Server } from "./servers";

export const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

export const formHeaders = (server: Server, cookie?: string): Record<string, string> => ({
  "Content-Type": "application/x-www-form-urlencoded",
  // The origin check (S25) wants the configured origin on every POST.
  Origin: server.origin,
  ...(cookie ? { Cookie: cookie } : {}),
});

/** `name=value` of one cookie from Set-Cookie header(s). */
export function cookiePair(setCookie: string | string[] | null | undefined, name: string): string {
  const all = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  const found = all.find((cookie) => cookie.startsWith(`${name}=`));
  if (!found) throw new Error(`no ${name} cookie in ${JSON.stringify(all)}`);
  return found.split(";")[0] as string;
}

/** Remove and return the messages the sink holds for addresses starting with `prefix`. */
export function takeMessages(sink: SmtpSink, prefix: string): ReadEmail[] {
  const taken: ReadEmail[] = [];
  const kept: ReadEmail[] = [];
  for (const message of sink.messages) (message.to.startsWith(prefix) ? taken : kept).push(message);
  sink.messages.splice(0, sink.messages.length, ...kept);
  return taken;
}

/**
 * Wait until the sink holds `count` messages to addresses starting with `prefix`: every
 * start answered 303 must end in an email (a throttled one would not, S13), and the server
 * has done its delivery work once they are all in.
 */
export async function waitForDeliveries(
  sink: SmtpSink,
  prefix: string,
  count: number,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  while (Date.now() < deadline) {
    seen = 0;
    for (const message of sink.messages) if (message.to.startsWith(prefix)) seen++;
    if (seen >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(
    `only ${seen} of ${count} emails to ${prefix}* arrived within ${timeoutMs / 1000} s (throttled starts?)`,
  );
}

/** One whole sign-in with a code, through the real server and the SMTP sink: the session cookie. */
export async function signIn(server: Server, sink: SmtpSink, email: string): Promise<string> {
  const start = await fetch(`${server.origin}/login`, {
    method: "POST",
    headers: formHeaders(server),
    body: form({ email, returnTo: "/dashboard" }),
    redirect: "manual",
  });
  await start.arrayBuffer();
  if (start.status !== 303) throw new Error(`POST /login answered ${start.status}`);
  const pending = cookiePair(start.headers.getSetCookie(), "pending");
  const { code } = await sink.waitForEmailTo(email, 60_000);
  if (!code) throw new Error(`no code in the email to ${email}`);
  const check = await fetch(`${server.origin}/login/check`, {
    method: "POST",
    headers: formHeaders(server, pending),
    body: form({ code }),
    redirect: "manual",
  });
  await check.arrayBuffer();
  if (check.status !== 303) throw new Error(`POST /login/check answered ${check.status}`);
  takeMessages(sink, email);
  return cookiePair(check.headers.getSetCookie(), "session");
}

/** A request generator: each POST /login its own address, as an abuser's list would be. */
export function distinctLogins(server: Server, prefix: string) {
  let next = 0;
  return (request: autocannon.Request): autocannon.Request => ({
    ...request,
    headers: formHeaders(server),
    body: form({ email: `${prefix}-${next++}@example.com`, returnTo: "/dashboard" }),
  });
}

export interface PendingSignIn {
  cookie: string;
  code: string;
}

/**
 * POST each prepared sign-in's code once, with its own pending cookie, as autocannon asks
 * for requests: a correct answer is a 303 with a session every time.
 */
export function postCodes(
  server: Server,
  prepared: readonly PendingSignIn[],
  options: { connections: number; amount: number; rate?: number },
) {
  let next = 0;
  return load({
    url: `${server.origin}/login/check`,
    ...options,
    method: "POST",
    expectStatus: 303,
    setup(request) {
      const pending = prepared[next++];
      if (!pending) throw new Error("ran out of prepared sign-ins");
      return {
        ...request,
        headers: formHeaders(server, pending.cookie),
        body: form({ code: pending.code }),
      };
    },
  });
}

/** Start `count` sign-ins with distinct addresses; their pending cookies and mailed codes. */
export async function prepareSignIns(
  server: Server,
  sink: SmtpSink,
  prefix: string,
  count: number,
): Promise<PendingSignIn[]> {
  const cookies = new Map<string, string>();
  let next = 0;
  const started = await load({
    url: `${server.origin}/login`,
    connections: 16,
    amount: count,
    method: "POST",
    expectStatus: 303,
    setup(request, context) {
      const email = `${prefix}-${next++}@example.com`;
      // One request in flight per connection, so the response belongs to this address.
      context.email = email;
      return { ...request, headers: formHeaders(server), body: form({ email, returnTo: "/" }) };
    },
    onResponse(_status, _body, context, headers) {
      cookies.set(
        context.email as string,
        cookiePair(headers["set-cookie"] ?? headers["Set-Cookie"], "pending"),
      );
    },
  });
  await waitForDeliveries(sink, `${prefix}-`, started.requests);
  const codes = new Map(takeMessages(sink, `${prefix}-`).map((m) => [m.to, m.code]));
  const ready: PendingSignIn[] = [];
  for (const [email, cookie] of cookies) {
    const code = codes.get(email);
    if (code) ready.push({ cookie, code });
  }
  if (ready.length < count)
    throw new Error(`only ${ready.length} of ${count} sign-ins came back with a code`);
  return ready;
}

// ---------------------------------------------------------------------------------------
// Without JavaScript: every step a plain HTML form, as a browser with scripts off sends it

interface HtmlForm {
  method: string;
  action: string;
  fields: Record<string, string>;
  names: string[];
}

const attribute = (tag: string, name: string) =>
  new RegExp(`\\s${name}="([^"]*)"`, "i").exec(tag)?.[1];

const decode = (value: string) =>
  value
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");

/** The forms of a page, with the fields a browser would submit without scripts. */
export function formsOf(html: string): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const [, open = "", body = ""] = match;
    const fields: Record<string, string> = {};
    const names: string[] = [];
    for (const input of body.matchAll(/<(?:input|textarea|button)\b[^>]*>/gi)) {
      const name = attribute(input[0], "name");
      if (!name) continue;
      names.push(name);
      // Of several named submit buttons a browser sends the one pressed: the first here.
      if (/^<button/i.test(input[0]) && name in fields) continue;
      fields[name] = decode(attribute(input[0], "value") ?? "");
    }
    forms.push({
      method: (attribute(open, "method") ?? "get").toLowerCase(),
      action: decode(attribute(open, "action") ?? ""),
      fields,
      names,
    });
  }
  return forms;
}

/** The page's POST form that has a field called `field`, or an error naming the page. */
function postFormWith(html: string, field: string, page: string): HtmlForm {
  const found = formsOf(html).find((f) => f.method === "post" && f.names.includes(field));
  if (!found) throw new Error(`${page}: no plain POST form with a "${field}" field`);
  return found;
}

async function submit(server: Server, path: string, fields: Record<string, string>, cookie = "") {
  const response = await fetch(new URL(path, server.origin), {
    method: "POST",
    headers: formHeaders(server, cookie || undefined),
    body: form(fields),
    redirect: "manual",
  });
  await response.arrayBuffer();
  return response;
}

async function page(server: Server, path: string, cookie = "") {
  const response = await fetch(new URL(path, server.origin), {
    headers: cookie ? { Cookie: cookie } : {},
    redirect: "manual",
  });
  return { status: response.status, html: await response.text() };
}

/**
 * Sign in twice the way a browser with JavaScript off does, reading every form from the
 * page it is on: with the emailed link (its page's Continue form) and with the code.
 * Returns the steps walked; throws at the first that does not work.
 */
export async function walkWithoutJavaScript(server: Server, sink: SmtpSink): Promise<string[]> {
  const steps: string[] = [];
  const start = async (email: string) => {
    const login = await page(server, "/login");
    if (login.status !== 200) throw new Error(`GET /login answered ${login.status}`);
    const loginForm = postFormWith(login.html, "email", "/login");
    const started = await submit(server, loginForm.action || "/login", {
      ...loginForm.fields,
      email,
    });
    if (started.status !== 303) throw new Error(`POST /login answered ${started.status}`);
    const pending = cookiePair(started.headers.getSetCookie(), "pending");
    const checkPath = started.headers.get("Location") ?? "/login/check";
    const check = await page(server, checkPath, pending);
    if (check.status !== 200) throw new Error(`GET ${checkPath} answered ${check.status}`);
    return { pending, check };
  };
  const signedIn = async (response: Response, email: string, how: string) => {
    if (response.status !== 303) throw new Error(`${how}: answered ${response.status}`);
    const session = cookiePair(response.headers.getSetCookie(), "session");
    const dashboard = await page(server, "/dashboard", session);
    if (dashboard.status !== 200 || !dashboard.html.includes(email))
      throw new Error(`${how}: /dashboard did not show ${email}`);
  };

  const byLink = "nojs-link@example.com";
  const first = await start(byLink);
  steps.push("/login form → 303 → /login/check");
  const mail = await sink.waitForEmailTo(byLink, 60_000);
  if (!mail.link) throw new Error("no link in the email");
  const landing = await page(server, mail.link, first.pending);
  if (landing.status !== 200) throw new Error(`GET the link answered ${landing.status}`);
  const continueForm = formsOf(landing.html).find((f) => f.method === "post");
  if (!continueForm) throw new Error("the link's page has no plain POST form");
  await signedIn(
    await submit(server, continueForm.action, continueForm.fields, first.pending),
    byLink,
    "the link's Continue form",
  );
  steps.push("emailed link → its page's Continue form → 303 signed in");

  const byCode = "nojs-code@example.com";
  const second = await start(byCode);
  const codeForm = postFormWith(second.check.html, "code", "/login/check");
  const code = (await sink.waitForEmailTo(byCode, 60_000)).code;
  if (!code) throw new Error("no code in the email");
  await signedIn(
    await submit(server, codeForm.action, { ...codeForm.fields, code }, second.pending),
    byCode,
    "the code form",
  );
  steps.push("/login/check code form → 303 signed in");
  takeMessages(sink, "nojs-");
  return steps;
}
