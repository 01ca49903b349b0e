import { describe, expect, it } from "vitest";
import {
  createWorkosMagicAuthAdapter,
  WORKOS_MAGIC_AUTH,
} from "../../../adapters/workos/magic-auth.server";
import { Outbox } from "../../../app/mail/outbox.server";
import type { WorkosEmulator } from "../../emulators/workos/server";
import { readAppEmail } from "../../conformance/harnesses/outbox";
import { totp } from "../../emulators/workos/totp";
import { authFailure, emulatorClient, startContext, emulatorPerFile } from "./helpers";

const ADA = "ada@example.com";
let emulator: WorkosEmulator;
emulatorPerFile((started) => (emulator = started));

function setup(emailMode: "workos" | "app", overrides: Parameters<typeof emulatorClient>[1] = {}) {
  const { client, logged } = emulatorClient(emulator, overrides);
  const outbox = new Outbox();
  const adapter = createWorkosMagicAuthAdapter({
    client,
    emailMode,
    mailer: outbox,
    appName: "Acme",
  });
  /** The code as delivered in this mode. */
  const code = () =>
    (emailMode === "workos" ? emulator.lastEmailTo(ADA)?.code : readAppEmail(outbox, ADA)?.code) ??
    "";
  return { adapter, outbox, logged, code };
}

const verifyContext = { adapter: WORKOS_MAGIC_AUTH, ip: "192.0.2.1", userAgent: "vitest" };

describe("workos-magic-auth: delivery and sign-in", () => {
  for (const emailMode of ["workos", "app"] as const) {
    it(`WORKOS_EMAIL=${emailMode}: the code signs in as the WorkOS user`, async () => {
      const { adapter, code } = setup(emailMode);
      const started = await adapter.start(ADA, startContext);
      expect(started).toMatchObject({
        delivered: { link: false, code: true },
        adapter: WORKOS_MAGIC_AUTH,
      });
      expect(started.ref).toMatch(/^magic_auth_/);
      expect(code()).toMatch(/^\d{6}$/);
      const identity = await adapter.verify(
        { kind: "code", email: ADA, code: code() },
        verifyContext,
      );
      expect(identity).toMatchObject({ email: ADA, adapter: WORKOS_MAGIC_AUTH });
      expect(identity.id).toMatch(/^user_/);
    });
  }

  it("WORKOS_EMAIL=app mails the code alone with the app's template", async () => {
    const { adapter, outbox } = setup("app");
    await adapter.start(ADA, startContext);
    const message = outbox.latestTo(ADA);
    expect(message?.subject).toBe("Sign in to Acme");
    expect(message?.text).toContain(emulator.lastEmailTo(ADA)?.code ?? "missing");
    expect(message?.text).toContain("10 minutes");
    expect(message?.text).not.toMatch(/https?:\/\//);
  });

  it("WORKOS_EMAIL=workos leaves the mail to WorkOS", async () => {
    const { adapter, outbox } = setup("workos");
    await adapter.start(ADA, startContext);
    expect(outbox.list()).toHaveLength(0);
    expect(emulator.lastEmailTo(ADA)?.kind).toBe("magic_auth");
  });

  it("sendCode issues a code like start (email me a code instead)", async () => {
    const { adapter, code } = setup("workos");
    const sent = await adapter.sendCode(ADA, startContext);
    expect(sent.delivered).toEqual({ link: false, code: true });
    expect(
      (await adapter.verify({ kind: "code", email: ADA, code: code() }, verifyContext)).email,
    ).toBe(ADA);
  });

  it("a mailer failure in app mode is unavailable", async () => {
    const { client } = emulatorClient(emulator);
    const adapter = createWorkosMagicAuthAdapter({
      client,
      emailMode: "app",
      mailer: { send: () => Promise.reject(new Error("SMTP 554")) },
    });
    expect((await authFailure(adapter.start(ADA, startContext))).code).toBe("unavailable");
  });

  it("malformed codes are invalid without spending WorkOS's attempts", async () => {
    const { adapter } = setup("workos");
    for (const code of ["", "12345", "1234567", "12a456", "１２３４５６"]) {
      expect(
        (await authFailure(adapter.verify({ kind: "code", email: ADA, code }, verifyContext))).code,
      ).toBe("invalid");
    }
    expect(
      (await authFailure(adapter.verify({ kind: "callback", code: "c" }, verifyContext))).code,
    ).toBe("invalid");
    expect(emulator.requests()).toHaveLength(0);
  });
});

describe("workos-magic-auth: WorkOS's one-time-code errors", () => {
  it("invalid_one_time_code → invalid", async () => {
    const { adapter, code } = setup("workos");
    await adapter.start(ADA, startContext);
    const wrong = code() === "000000" ? "000001" : "000000";
    expect(
      (await authFailure(adapter.verify({ kind: "code", email: ADA, code: wrong }, verifyContext)))
        .code,
    ).toBe("invalid");
  });

  it("one_time_code_previously_used → used", async () => {
    const { adapter, code } = setup("workos");
    await adapter.start(ADA, startContext);
    await adapter.verify({ kind: "code", email: ADA, code: code() }, verifyContext);
    expect(
      (await authFailure(adapter.verify({ kind: "code", email: ADA, code: code() }, verifyContext)))
        .code,
    ).toBe("used");
  });

  it("one_time_code_expired → expired", async () => {
    const { adapter, code } = setup("workos");
    await adapter.start(ADA, startContext);
    emulator.advance(10 * 60_000 + 1_000);
    expect(
      (await authFailure(adapter.verify({ kind: "code", email: ADA, code: code() }, verifyContext)))
        .code,
    ).toBe("expired");
  });

  it("one_time_code_too_many_attempts → too_many_attempts, even for the right code after", async () => {
    const { adapter, code } = setup("workos");
    await adapter.start(ADA, startContext);
    const wrong = code() === "000000" ? "000001" : "000000";
    for (let i = 0; i < 5; i++) {
      await authFailure(adapter.verify({ kind: "code", email: ADA, code: wrong }, verifyContext));
    }
    expect(
      (await authFailure(adapter.verify({ kind: "code", email: ADA, code: code() }, verifyContext)))
        .code,
    ).toBe("too_many_attempts");
  });

  it("each code in WorkOS's table maps, as WorkOS sends it", async () => {
    const { adapter } = setup("workos");
    const table = {
      invalid_one_time_code: "invalid",
      one_time_code_previously_used: "used",
      one_time_code_expired: "expired",
      one_time_code_too_many_attempts: "too_many_attempts",
    } as const;
    for (const [workosCode, expected] of Object.entries(table)) {
      emulator.failNext("/user_management/authenticate", {
        status: 400,
        body: { code: workosCode, message: "No." },
      });
      const error = await authFailure(
        adapter.verify({ kind: "code", email: ADA, code: "123456" }, verifyContext),
      );
      expect(error.code, workosCode).toBe(expected);
    }
  });
});

describe("workos-magic-auth: provider failures", () => {
  for (const emailMode of ["workos", "app"] as const) {
    describe(`WORKOS_EMAIL=${emailMode}`, () => {
      it("a bad API key (401) is misconfigured at start and at verify, logged with the request id", async () => {
        const { adapter, logged, outbox } = setup(emailMode, { apiKey: "sk_test_wrong" });
        const error = await authFailure(adapter.start(ADA, startContext));
        expect(error.code).toBe("misconfigured");
        expect(outbox.list()).toHaveLength(0);
        expect(
          (
            await authFailure(
              adapter.verify({ kind: "code", email: ADA, code: "123456" }, verifyContext),
            )
          ).code,
        ).toBe("misconfigured");
        expect(logged.map((l) => [l.operation, l.mappedTo, l.status])).toEqual([
          ["start", "misconfigured", 401],
          ["verify", "misconfigured", 401],
        ]);
        expect(logged[0]?.requestId).toBe(error.requestId);
      });

      it("429 with Retry-After is rate_limited with retryAfter", async () => {
        const { adapter } = setup(emailMode);
        emulator.failNext("/user_management/magic_auth", { status: 429, retryAfter: 42 });
        expect(await authFailure(adapter.start(ADA, startContext))).toMatchObject({
          code: "rate_limited",
          retryAfter: 42,
        });
      });

      it("500 and a non-JSON answer are unavailable", async () => {
        const { adapter } = setup(emailMode);
        emulator.failNext("/user_management/magic_auth", { status: 500 });
        expect((await authFailure(adapter.start(ADA, startContext))).code).toBe("unavailable");
        emulator.failNext("/user_management/magic_auth", {
          status: 503,
          body: "<html>upstream down</html>",
        });
        expect((await authFailure(adapter.start(ADA, startContext))).code).toBe("unavailable");
      });

      it("a slow answer is unavailable by timeout", async () => {
        const { adapter } = setup(emailMode, { timeoutMs: 100 });
        // An answer a minute away: only the timeout can end the call, and a call that
        // waited for the answer would outlast the test (the bound below is for the message).
        emulator.failNext("/user_management/magic_auth", { delayMs: 60_000 });
        const began = Date.now();
        expect((await authFailure(adapter.start(ADA, startContext))).code).toBe("unavailable");
        expect(Date.now() - began).toBeLessThan(30_000);
      });
    });
  }

  it("WorkOS's own send limit (3 a minute per address) is rate_limited with the time left", async () => {
    const { adapter } = setup("workos");
    for (let i = 0; i < 3; i++) await adapter.start(ADA, startContext);
    emulator.advance(20_000);
    const error = await authFailure(adapter.start(ADA, startContext));
    expect(error.code).toBe("rate_limited");
    expect(error.retryAfter).toBe(40);
  });

  it("verify failures: 429 without Retry-After waits a default minute; 500 and timeouts are unavailable", async () => {
    // The answers come at once; the default timeout keeps a busy machine from turning
    // them into timeouts. Only the last call gets a short one, against an answer a minute away.
    const { adapter } = setup("workos");
    const proof = { kind: "code" as const, email: ADA, code: "123456" };
    emulator.failNext("/user_management/authenticate", { status: 429 });
    expect(await authFailure(adapter.verify(proof, verifyContext))).toMatchObject({
      code: "rate_limited",
      retryAfter: 60,
    });
    emulator.failNext("/user_management/authenticate", { status: 500 });
    expect((await authFailure(adapter.verify(proof, verifyContext))).code).toBe("unavailable");
    emulator.failNext("/user_management/authenticate", { delayMs: 60_000 });
    const impatient = setup("workos", { timeoutMs: 100 }).adapter;
    expect((await authFailure(impatient.verify(proof, verifyContext))).code).toBe("unavailable");
  });
});

describe("workos-magic-auth: configuration", () => {
  it("refuses WORKOS_EMAIL=app without a mailer, and needs none for WORKOS_EMAIL=workos", () => {
    const { client } = emulatorClient(emulator);
    let thrown: unknown;
    try {
      createWorkosMagicAuthAdapter({ client, emailMode: "app" });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({
      code: "misconfigured",
      message: "WORKOS_EMAIL=app needs a mailer",
    });
    expect(createWorkosMagicAuthAdapter({ client, emailMode: "workos" }).name).toBe(
      WORKOS_MAGIC_AUTH,
    );
  });

  it("says it delivers codes and no links", () => {
    expect(setup("workos").adapter.delivers).toEqual({ link: false, code: true });
  });

  it("sends its own clientId when given one, and the client's otherwise", async () => {
    const { client } = emulatorClient(emulator);
    const other = createWorkosMagicAuthAdapter({
      client,
      emailMode: "workos",
      clientId: "client_someone_else",
    });
    await other.start(ADA, startContext);
    const code = emulator.lastEmailTo(ADA)?.code ?? "";
    // The emulator refuses a client id other than its own, as WorkOS does.
    expect(
      (await authFailure(other.verify({ kind: "code", email: ADA, code }, verifyContext))).code,
    ).toBe("misconfigured");
    const own = createWorkosMagicAuthAdapter({ client, emailMode: "workos" });
    expect((await own.verify({ kind: "code", email: ADA, code }, verifyContext)).email).toBe(ADA);
  });

  it("names the app in its email as 'the app' when no appName is given", async () => {
    const { client } = emulatorClient(emulator);
    const outbox = new Outbox();
    const adapter = createWorkosMagicAuthAdapter({ client, emailMode: "app", mailer: outbox });
    await adapter.start(ADA, startContext);
    expect(outbox.latestTo(ADA)?.subject).toBe("Sign in to the app");
  });

  it("a mailer failure in app mode says the email could not be sent", async () => {
    const { client } = emulatorClient(emulator);
    const adapter = createWorkosMagicAuthAdapter({
      client,
      emailMode: "app",
      mailer: { send: () => Promise.reject(new Error("SMTP 554")) },
    });
    expect((await authFailure(adapter.start(ADA, startContext))).message).toBe(
      "The sign-in email could not be sent",
    );
  });
});

describe("workos-magic-auth: what verify sends to WorkOS", () => {
  it("trims spaces around the code", async () => {
    const { adapter, code } = setup("workos");
    await adapter.start(ADA, startContext);
    const identity = await adapter.verify(
      { kind: "code", email: ADA, code: ` ${code()}\n` },
      verifyContext,
    );
    expect(identity.email).toBe(ADA);
  });

  it("refuses each malformed proof with its own reason, before asking WorkOS", async () => {
    const { adapter } = setup("workos");
    const refusal = async (proof: unknown) => {
      const error = await authFailure(adapter.verify(proof as never, verifyContext));
      expect(error.code).toBe("invalid");
      return error.message;
    };
    expect(await refusal({ kind: "callback", code: "123456", email: ADA })).toBe(
      "This adapter verifies codes only",
    );
    expect(await refusal({ kind: "code", email: ADA, code: "12345" })).toBe("A code is six digits");
    expect(await refusal({ kind: "code", email: ADA })).toBe("A code is six digits");
    expect(await refusal({ kind: "code", email: ADA, code: 123456 })).toBe("A code is six digits");
    for (const email of [undefined, "", 42, `${"a".repeat(243)}@example.com`]) {
      expect(await refusal({ kind: "code", email, code: "123456" }), String(email)).toBe(
        "No pending email for this code",
      );
    }
    expect(emulator.requests()).toHaveLength(0);
  });

  it("asks WorkOS about an address of exactly 254 characters", async () => {
    const { adapter } = setup("workos");
    const email = `${"a".repeat(242)}@example.com`;
    expect(email).toHaveLength(254);
    // No code was sent to it: WorkOS answers that this one is wrong.
    expect(
      (await authFailure(adapter.verify({ kind: "code", email, code: "123456" }, verifyContext)))
        .code,
    ).toBe("invalid");
    expect(emulator.requests().map((r) => r.path)).toEqual(["/user_management/authenticate"]);
  });
});

describe("workos-magic-auth: the second factor", () => {
  it("a required MFA enrollment is finished with the authenticator's code, as this adapter", async () => {
    emulator.setMfa("required");
    const { adapter, code } = setup("workos");
    await adapter.start(ADA, startContext);
    const asked = await authFailure(
      adapter.verify({ kind: "code", email: ADA, code: code() }, verifyContext),
    );
    expect(asked.code).toBe("second_factor_required");
    const step = asked.secondFactor;
    expect(step?.kind).toBe("enroll");
    const secret = step?.enrollment?.secret ?? "";
    const identity = await adapter.verifySecondFactor(
      step?.state ?? "",
      totp(secret, emulator.now()),
      verifyContext,
    );
    expect(identity).toMatchObject({ email: ADA, adapter: WORKOS_MAGIC_AUTH });
    expect(identity.id).toMatch(/^user_/);
  });
});
