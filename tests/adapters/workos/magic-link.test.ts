import { describe, expect, it } from "vitest";
import {
  createWorkosMagicLinkAdapter,
  WORKOS_MAGIC_LINK,
} from "../../../adapters/workos/magic-link.server";
import { callbackErrorToAuthError } from "../../../adapters/workos/errors";
import { Outbox } from "../../../app/mail/outbox.server";
import type { WorkosEmulator } from "../../emulators/workos/server";
import { followMagicLink } from "../../conformance/harnesses/workos";
import { readAppEmail } from "../../conformance/harnesses/outbox";
import { authFailure, emulatorClient, startContext, emulatorPerFile } from "./helpers";

const ADA = "ada@example.com";
let emulator: WorkosEmulator;
emulatorPerFile((started) => (emulator = started));

function setup(emailMode: "workos" | "app", overrides: Parameters<typeof emulatorClient>[1] = {}) {
  const { client, logged } = emulatorClient(emulator, overrides);
  const outbox = new Outbox();
  const adapter = createWorkosMagicLinkAdapter({
    client,
    emailMode,
    mailer: outbox,
    appName: "Acme",
  });
  /** The link as delivered in this mode. */
  const link = () =>
    emailMode === "workos" ? emulator.lastEmailTo(ADA)?.link : readAppEmail(outbox, ADA)?.link;
  return { adapter, outbox, logged, link };
}

/** Start, follow the link once, and return the callback URL. */
async function callbackFor(emailMode: "workos" | "app") {
  const context = setup(emailMode);
  await context.adapter.start(ADA, startContext);
  const link = context.link();
  if (!link) throw new Error("no link delivered");
  return { ...context, callback: await followMagicLink(link), linkUrl: link };
}

describe("workos-magic-link: delivery", () => {
  it("WORKOS_EMAIL=workos: WorkOS sends the link; the app sends nothing", async () => {
    const { adapter, outbox } = setup("workos");
    const started = await adapter.start(ADA, startContext);
    expect(started).toMatchObject({
      delivered: { link: true, code: false },
      adapter: WORKOS_MAGIC_LINK,
    });
    expect(started.ref).toMatch(/^passwordless_session_/);
    const sent = emulator.lastEmailTo(ADA);
    expect(sent?.kind).toBe("magic_link");
    expect(sent?.link).toMatch(new RegExp(`^${emulator.url}/passwordless/`));
    expect(outbox.list()).toHaveLength(0);
    expect(emulator.requests().map((r) => r.path)).toEqual([
      "/passwordless/sessions",
      `/passwordless/sessions/${started.ref}/send`,
    ]);
  });

  it("WORKOS_EMAIL=app: the app mails session.link with its own template; WorkOS sends nothing", async () => {
    const { adapter, outbox } = setup("app");
    await adapter.start(ADA, startContext);
    expect(emulator.sentEmails()).toHaveLength(0);
    const message = outbox.latestTo(ADA);
    expect(message?.subject).toBe("Sign in to Acme");
    expect(message?.text).toContain(`${emulator.url}/passwordless/`);
    expect(message?.text).toContain("15 minutes");
    // Link only: the template must not promise a code WorkOS never issued.
    expect(message?.text).not.toMatch(/^\d{6}$/m);
    expect(emulator.requests().map((r) => r.path)).toEqual(["/passwordless/sessions"]);
  });

  it("the link redirects to the callback URL with a code and the opaque state", async () => {
    const { callback } = await callbackFor("workos");
    expect(`${callback.origin}${callback.pathname}`).toBe(startContext.callbackUrl);
    expect(callback.searchParams.get("state")).toBe(startContext.state);
    expect(callback.searchParams.get("code")).toBeTruthy();
  });

  it("the callback code becomes the WorkOS profile's identity", async () => {
    const { adapter, callback } = await callbackFor("app");
    const identity = await adapter.verify(
      { kind: "callback", code: callback.searchParams.get("code") ?? "" },
      {},
    );
    expect(identity).toMatchObject({ email: ADA, adapter: WORKOS_MAGIC_LINK });
    expect(identity.id).toMatch(/^prof_/);
  });

  it("a mailer failure in app mode is unavailable", async () => {
    const { client } = emulatorClient(emulator);
    const adapter = createWorkosMagicLinkAdapter({
      client,
      emailMode: "app",
      mailer: { send: () => Promise.reject(new Error("SMTP 554")) },
    });
    expect((await authFailure(adapter.start(ADA, startContext))).code).toBe("unavailable");
  });

  it("refuses app mode without a mailer and link lifetimes WorkOS would reject", () => {
    const { client } = emulatorClient(emulator);
    expect(() => createWorkosMagicLinkAdapter({ client, emailMode: "app" })).toThrow(/mailer/);
    expect(() =>
      createWorkosMagicLinkAdapter({ client, emailMode: "workos", expiresInSeconds: 600 }),
    ).toThrow(/900/);
  });
});

describe("workos-magic-link: expired and used links (the scanner case)", () => {
  it("a second visit of the link ends in access_denied → used", async () => {
    const { linkUrl } = await callbackFor("workos");
    const second = await followMagicLink(linkUrl);
    expect(second.searchParams.get("error")).toBe("access_denied");
    expect(second.searchParams.get("code")).toBeNull();
    expect(second.searchParams.get("state")).toBe(startContext.state);
    expect(callbackErrorToAuthError(second.searchParams)?.code).toBe("used");
  });

  it("a visit after the link's lifetime ends in access_denied → expired", async () => {
    const { adapter, link } = setup("workos");
    await adapter.start(ADA, startContext);
    emulator.advance(15 * 60_000 + 1_000);
    const callback = await followMagicLink(link() ?? "");
    expect(callback.searchParams.get("error")).toBe("access_denied");
    expect(callbackErrorToAuthError(callback.searchParams)?.code).toBe("expired");
  });

  it("callbackErrorToAuthError reads WorkOS's wording and ignores a query without error", () => {
    expect(
      callbackErrorToAuthError({
        error: "access_denied",
        error_description: "The code 'x' has expired or is invalid.",
      })?.code,
    ).toBe("expired");
    expect(callbackErrorToAuthError({ error: "access_denied" })?.code).toBe("expired");
    expect(callbackErrorToAuthError({ error: "server_error" })?.code).toBe("invalid");
    expect(callbackErrorToAuthError(new URLSearchParams("code=abc&state=s"))).toBeUndefined();
  });
});

describe("workos-magic-link: invalid_grant at the token exchange", () => {
  it("a code exchanged twice is used", async () => {
    const { adapter, callback } = await callbackFor("workos");
    const proof = { kind: "callback" as const, code: callback.searchParams.get("code") ?? "" };
    await adapter.verify(proof, {});
    expect((await authFailure(adapter.verify(proof, {}))).code).toBe("used");
  });

  it("a code past its 10 minutes is expired", async () => {
    const { adapter, callback } = await callbackFor("workos");
    emulator.advance(10 * 60_000 + 1_000);
    const error = await authFailure(
      adapter.verify({ kind: "callback", code: callback.searchParams.get("code") ?? "" }, {}),
    );
    expect(error.code).toBe("expired");
  });

  it("an unknown code is invalid", async () => {
    const { adapter } = setup("workos");
    expect((await authFailure(adapter.verify({ kind: "callback", code: "nope" }, {}))).code).toBe(
      "invalid",
    );
  });

  it("invalid_grant with WorkOS's own wording is expired", async () => {
    const { adapter } = setup("workos");
    emulator.failNext("/sso/token", {
      status: 400,
      body: {
        error: "invalid_grant",
        error_description: "The code '01ABC' has expired or is invalid.",
      },
    });
    expect((await authFailure(adapter.verify({ kind: "callback", code: "01ABC" }, {}))).code).toBe(
      "expired",
    );
  });

  it("proofs it does not issue are invalid without a call to WorkOS", async () => {
    const { adapter } = setup("workos");
    expect(
      (await authFailure(adapter.verify({ kind: "code", email: ADA, code: "123456" }, {}))).code,
    ).toBe("invalid");
    expect((await authFailure(adapter.verify({ kind: "link", token: "t" }, {}))).code).toBe(
      "invalid",
    );
    expect(emulator.requests()).toHaveLength(0);
  });
});

describe("workos-magic-link: provider failures", () => {
  for (const emailMode of ["workos", "app"] as const) {
    describe(`WORKOS_EMAIL=${emailMode}`, () => {
      it("a bad API key (401) is misconfigured and logged with the request id", async () => {
        const { adapter, logged, outbox } = setup(emailMode, { apiKey: "sk_test_wrong" });
        const error = await authFailure(adapter.start(ADA, startContext));
        expect(error.code).toBe("misconfigured");
        expect(error.requestId).toMatch(/^req_/);
        expect(logged).toEqual([
          expect.objectContaining({
            mappedTo: "misconfigured",
            status: 401,
            requestId: error.requestId,
          }),
        ]);
        expect(outbox.list()).toHaveLength(0);
      });

      it("429 with Retry-After is rate_limited with retryAfter", async () => {
        const { adapter } = setup(emailMode);
        emulator.failNext("/passwordless/sessions", { status: 429, retryAfter: 17 });
        const error = await authFailure(adapter.start(ADA, startContext));
        expect(error).toMatchObject({ code: "rate_limited", retryAfter: 17 });
      });

      it("500 is unavailable, logged with the request id", async () => {
        const { adapter, logged } = setup(emailMode);
        emulator.failNext("/passwordless/sessions", { status: 500 });
        const error = await authFailure(adapter.start(ADA, startContext));
        expect(error.code).toBe("unavailable");
        expect(logged[0]).toMatchObject({
          event: "workos_failure",
          operation: "start",
          status: 500,
          requestId: error.requestId,
        });
      });

      it("a slow answer is unavailable by timeout, without waiting for it", async () => {
        const { adapter } = setup(emailMode, { timeoutMs: 100 });
        // An answer a minute away: only the timeout can end the call, and a call that
        // waited for the answer would outlast the test (the bound below is for the message).
        emulator.failNext("/passwordless/sessions", { delayMs: 60_000 });
        const began = Date.now();
        expect((await authFailure(adapter.start(ADA, startContext))).code).toBe("unavailable");
        expect(Date.now() - began).toBeLessThan(30_000);
      });
    });
  }

  it("sending the session failing (WORKOS_EMAIL=workos) is unavailable", async () => {
    const { adapter } = setup("workos");
    emulator.failNext("/passwordless/sessions/:id/send", { status: 502 });
    expect((await authFailure(adapter.start(ADA, startContext))).code).toBe("unavailable");
    expect(emulator.sentEmails()).toHaveLength(0);
  });

  it("a bad client secret at the token exchange is misconfigured", async () => {
    const good = setup("workos");
    await good.adapter.start(ADA, startContext);
    const callback = await followMagicLink(good.link() ?? "");
    const bad = setup("workos", { apiKey: "sk_test_wrong" });
    const error = await authFailure(
      bad.adapter.verify({ kind: "callback", code: callback.searchParams.get("code") ?? "" }, {}),
    );
    expect(error.code).toBe("misconfigured");
  });

  it("errors at the token exchange: 429, 500 and a dropped connection", async () => {
    const { adapter } = setup("workos");
    emulator.failNext("/sso/token", { status: 429, retryAfter: 3 });
    expect(await authFailure(adapter.verify({ kind: "callback", code: "c" }, {}))).toMatchObject({
      code: "rate_limited",
      retryAfter: 3,
    });
    emulator.failNext("/sso/token", {
      status: 500,
      body: { error: "server_error", error_description: "boom" },
    });
    expect((await authFailure(adapter.verify({ kind: "callback", code: "c" }, {}))).code).toBe(
      "unavailable",
    );
    emulator.failNext("/sso/token", { drop: true });
    expect((await authFailure(adapter.verify({ kind: "callback", code: "c" }, {}))).code).toBe(
      "unavailable",
    );
  });
});

describe("workos-magic-link: configuration", () => {
  const construct = (options: Partial<Parameters<typeof createWorkosMagicLinkAdapter>[0]>) => {
    const { client } = emulatorClient(emulator);
    try {
      createWorkosMagicLinkAdapter({ client, emailMode: "workos", ...options });
    } catch (error) {
      return error;
    }
    return "built";
  };

  it("refuses each setting WorkOS would reject as misconfigured, with its reason", () => {
    expect(construct({ emailMode: "app" })).toMatchObject({
      code: "misconfigured",
      message: "WORKOS_EMAIL=app needs a mailer",
    });
    for (const expiresInSeconds of [899, 86_401, 900.5, Number.NaN]) {
      expect(construct({ expiresInSeconds }), String(expiresInSeconds)).toMatchObject({
        code: "misconfigured",
        message: "A WorkOS Magic Link lives 900 to 86400 seconds",
      });
    }
    expect(construct({ expiresInSeconds: 900 })).toBe("built");
    expect(construct({ expiresInSeconds: 86_400 })).toBe("built");
  });

  it("says it delivers links and no codes", () => {
    expect(setup("workos").adapter.delivers).toEqual({ link: true, code: false });
  });

  it("WORKOS_EMAIL=app: the email names 'the app' by default and has no Continue step", async () => {
    const { client } = emulatorClient(emulator);
    const outbox = new Outbox();
    const adapter = createWorkosMagicLinkAdapter({ client, emailMode: "app", mailer: outbox });
    await adapter.start(ADA, startContext);
    const message = outbox.latestTo(ADA);
    expect(message?.subject).toBe("Sign in to the app");
    // WorkOS's redirect signs in at once: there is no page with a Continue button.
    expect(message?.text).toContain("Open this link in the browser where you asked to sign in:");
    expect(message?.text).not.toContain("Continue");
  });

  it("a mailer failure in app mode says the email could not be sent", async () => {
    const { client } = emulatorClient(emulator);
    const adapter = createWorkosMagicLinkAdapter({
      client,
      emailMode: "app",
      mailer: { send: () => Promise.reject(new Error("SMTP 554")) },
    });
    expect((await authFailure(adapter.start(ADA, startContext))).message).toBe(
      "The sign-in email could not be sent",
    );
  });
});

describe("workos-magic-link: the callback code", () => {
  it("trims spaces around the code before the exchange", async () => {
    const { adapter, callback } = await callbackFor("workos");
    const code = callback.searchParams.get("code") ?? "";
    expect((await adapter.verify({ kind: "callback", code: ` ${code}\n` }, {})).email).toBe(ADA);
  });

  it("refuses a missing, blank, non-string or over-long code before asking WorkOS", async () => {
    const { adapter } = setup("workos");
    for (const code of [undefined, "", "   ", 42, "c".repeat(513)]) {
      const error = await authFailure(adapter.verify({ kind: "callback", code } as never, {}));
      expect([error.code, error.message], String(code)).toEqual([
        "invalid",
        "Malformed callback code",
      ]);
    }
    const other = await authFailure(adapter.verify({ kind: "link", token: "t" }, {}));
    expect(other.message).toBe("This adapter verifies callback codes only");
    expect(emulator.requests()).toHaveLength(0);
  });

  it("exchanges a code of exactly 512 characters", async () => {
    const { adapter } = setup("workos");
    expect(
      (await authFailure(adapter.verify({ kind: "callback", code: "c".repeat(512) }, {}))).code,
    ).toBe("invalid");
    expect(emulator.requests().map((r) => r.path)).toEqual(["/sso/token"]);
  });

  it("logs a failed exchange as the verify step", async () => {
    const { adapter, logged } = setup("workos");
    emulator.failNext("/sso/token", { status: 500 });
    await authFailure(adapter.verify({ kind: "callback", code: "c" }, {}));
    expect(logged.map((entry) => [entry.operation, entry.mappedTo])).toEqual([
      ["verify", "unavailable"],
    ]);
  });
});
