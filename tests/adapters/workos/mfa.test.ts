/**
 * WorkOS MFA (mfa.server.ts) through the Magic Auth adapter, against the emulator and the
 * real SDK: which answers of an authenticate call become the second-factor step, what that
 * step holds, and every refusal of `verifySecondFactor` before and at WorkOS.
 */
import { describe, expect, it } from "vitest";
import {
  createWorkosMagicAuthAdapter,
  WORKOS_MAGIC_AUTH,
} from "../../../adapters/workos/magic-auth.server";
import { workosMfa } from "../../../adapters/workos/mfa.server";
import type { WorkosEmulator } from "../../emulators/workos/server";
import { totp } from "../../emulators/workos/totp";
import { authFailure, emulatorClient, emulatorPerFile, startContext } from "./helpers";

const ADA = "ada@example.com";
const context = { ip: "192.0.2.1", userAgent: "vitest" };
let emulator: WorkosEmulator;
emulatorPerFile((started) => (emulator = started));

/** The adapter, with the JSON body of every request it sends by path. */
function setup() {
  const bodies: { path: string; body: Record<string, unknown> }[] = [];
  const { client, logged } = emulatorClient(emulator, {
    fetch: (input, init) => {
      const url = new URL(String(input instanceof Request ? input.url : input));
      if (typeof init?.body === "string") {
        bodies.push({ path: url.pathname, body: JSON.parse(init.body) as Record<string, unknown> });
      }
      return fetch(input, init);
    },
  });
  const adapter = createWorkosMagicAuthAdapter({ client, emailMode: "workos", appName: "Acme" });
  const mfa = workosMfa({ client, clientId: emulator.clientId, appName: "Acme" });
  return { adapter, mfa, bodies, logged };
}

/** Magic Auth up to WorkOS's answer: the AuthError verify threw. */
async function firstFactor(adapter: ReturnType<typeof setup>["adapter"]) {
  await adapter.start(ADA, startContext);
  const code = emulator.lastEmailTo(ADA)?.code ?? "";
  return authFailure(adapter.verify({ kind: "code", email: ADA, code }, context));
}

/** A 403 from the authenticate call with this body, as WorkOS words an MFA answer. */
function answerNext(body: Record<string, unknown>) {
  emulator.failNext("/user_management/authenticate", {
    status: 403,
    body: { message: "The user must finish MFA.", ...body },
  });
}

const user = { object: "user", id: "user_1", email: ADA };

describe("workos MFA: the second-factor step", () => {
  it("enrollment: a new TOTP factor named after the app and the person, and its first challenge", async () => {
    emulator.setMfa("required");
    const { adapter, bodies } = setup();
    const asked = await firstFactor(adapter);
    expect(asked.code).toBe("second_factor_required");
    expect(asked.message).toBe("WorkOS asks for a second factor");
    const step = asked.secondFactor;
    expect(step?.kind).toBe("enroll");
    expect(step?.enrollment?.qrCode).toMatch(/^data:image\//);
    expect(step?.enrollment?.secret).toMatch(/^[A-Z2-7]+$/);
    const factor = bodies.find((b) => b.path.endsWith("/auth_factors"))?.body;
    expect(factor).toMatchObject({ type: "totp", totp_issuer: "Acme", totp_user: ADA });
    const state = JSON.parse(step?.state ?? "") as Record<string, unknown>;
    expect(Object.keys(state).sort()).toEqual(["c", "t"]);
    expect(state.c).toMatch(/^auth_challenge_/);
  });

  it("a challenge of the enrolled factor, without a new one", async () => {
    const { secret } = emulator.enrollTotp(ADA);
    const { adapter, bodies } = setup();
    const asked = await firstFactor(adapter);
    expect(asked.secondFactor?.kind).toBe("challenge");
    expect(asked.secondFactor?.enrollment).toBeUndefined();
    expect(bodies.some((b) => b.path.endsWith("/auth_factors"))).toBe(false);
    const identity = await adapter.verifySecondFactor(
      asked.secondFactor?.state ?? "",
      totp(secret, emulator.now()),
      context,
    );
    expect(identity).toMatchObject({ email: ADA, adapter: WORKOS_MAGIC_AUTH, provider: "workos" });
  });

  it("the TOTP code finishes the sign-in under the adapter's name, with its WorkOS session", async () => {
    emulator.setMfa("required");
    const { mfa, adapter, bodies } = setup();
    const step = (await firstFactor(adapter)).secondFactor;
    const code = totp(step?.enrollment?.secret ?? "", emulator.now());
    const identity = await mfa.verifySecondFactor(
      "some-adapter",
      step?.state ?? "",
      ` ${code} `,
      context,
    );
    expect(identity.adapter).toBe("some-adapter");
    expect(identity.providerSession?.id).toBe(emulator.userSessions(ADA)[0]?.id);
    expect(identity.providerSession?.userId).toBe(identity.id);
    const grant = bodies.find((b) => b.body.grant_type === "urn:workos:oauth:grant-type:mfa-totp");
    expect(grant?.body).toMatchObject({
      client_id: emulator.clientId,
      code,
      ip_address: "192.0.2.1",
      user_agent: "vitest",
    });
  });

  it("a factor WorkOS returns without its secret is unavailable", async () => {
    const totp = {
      issuer: "Acme",
      user: ADA,
      qr_code: "data:image/png;base64,AA",
      uri: "otpauth://",
    };
    emulator.setMfa("required");
    const { adapter } = setup();
    emulator.failNext("/user_management/users/:id/auth_factors", {
      status: 201,
      body: {
        authentication_factor: {
          object: "authentication_factor",
          id: "auth_factor_1",
          type: "totp",
          user_id: "user_1",
          totp,
          created_at: new Date().toISOString(),
          updated_at: new Date().toISOString(),
        },
        authentication_challenge: {
          object: "authentication_challenge",
          id: "auth_challenge_1",
          authentication_factor_id: "auth_factor_1",
          expires_at: new Date().toISOString(),
          created_at: new Date().toISOString(),
          updated_at: new Date().toISOString(),
        },
      },
    });
    const error = await firstFactor(adapter);
    expect([error.code, error.message]).toEqual([
      "unavailable",
      "WorkOS returned a factor without its secret",
    ]);
  });
});

describe("workos MFA: answers that are not a step this app can take", () => {
  const token = "pending_token_1";
  for (const [what, body] of [
    [
      "another authentication code",
      {
        code: "email_verification_required",
        pending_authentication_token: token,
        user,
        authentication_factors: [{ id: "auth_factor_1", type: "totp" }],
      },
    ],
    ["no pending token", { code: "mfa_enrollment", user }],
    [
      "a pending token too long to be one",
      { code: "mfa_enrollment", pending_authentication_token: "t".repeat(513), user },
    ],
    [
      "no user id",
      { code: "mfa_enrollment", pending_authentication_token: token, user: { email: ADA } },
    ],
    [
      "no user email",
      { code: "mfa_enrollment", pending_authentication_token: token, user: { id: "user_1" } },
    ],
    ["no user at all", { code: "mfa_enrollment", pending_authentication_token: token }],
    [
      "a challenge with no TOTP factor",
      {
        code: "mfa_challenge",
        pending_authentication_token: token,
        user,
        authentication_factors: [{ id: "f_1", type: "sms" }],
      },
    ],
    [
      "a challenge whose TOTP factor has no id",
      {
        code: "mfa_challenge",
        pending_authentication_token: token,
        user,
        authentication_factors: [{ type: "totp" }],
      },
    ],
    [
      "a challenge without factors",
      { code: "mfa_challenge", pending_authentication_token: token, user },
    ],
  ] as const) {
    it(`${what}: the 403 stays misconfigured`, async () => {
      const { adapter } = setup();
      answerNext(body);
      expect(
        (await authFailure(adapter.verify({ kind: "code", email: ADA, code: "123456" }, context)))
          .code,
      ).toBe("misconfigured");
      expect(emulator.requests().map((r) => r.path)).toEqual(["/user_management/authenticate"]);
    });
  }

  it("a challenge takes the first TOTP factor with an id", async () => {
    const { adapter } = setup();
    const { factorId } = emulator.enrollTotp(ADA);
    answerNext({
      code: "mfa_challenge",
      pending_authentication_token: token,
      user,
      authentication_factors: [
        { id: "auth_factor_sms", type: "sms" },
        { type: "totp" },
        { id: factorId, type: "totp" },
        { id: "auth_factor_later", type: "totp" },
      ],
    });
    const asked = await authFailure(
      adapter.verify({ kind: "code", email: ADA, code: "123456" }, context),
    );
    expect(asked.secondFactor?.kind).toBe("challenge");
    expect(emulator.requests().map((r) => r.path)).toEqual([
      "/user_management/authenticate",
      `/auth/factors/${factorId}/challenge`,
    ]);
  });
});

describe("workos MFA: verifySecondFactor's refusals", () => {
  const good = JSON.stringify({ t: "pending_token_1", c: "auth_challenge_1" });

  it("a state that is not the step's is expired, before asking WorkOS", async () => {
    const { mfa } = setup();
    for (const state of [
      "not json",
      "{}",
      JSON.stringify({ t: "pending_token_1" }),
      JSON.stringify({ c: "auth_challenge_1" }),
      JSON.stringify({ t: "", c: "auth_challenge_1" }),
      JSON.stringify({ t: 7, c: "auth_challenge_1" }),
      JSON.stringify({ t: "t".repeat(513), c: "auth_challenge_1" }),
    ]) {
      const error = await authFailure(mfa.verifySecondFactor("a", state, "123456", context));
      expect([error.code, error.message], state).toEqual([
        "expired",
        "No second-factor step is pending",
      ]);
    }
    expect(emulator.requests()).toHaveLength(0);
  });

  it("a code that is not six digits is invalid, before asking WorkOS", async () => {
    const { mfa } = setup();
    for (const code of ["", "12345", "1234567", "12a456", undefined]) {
      const error = await authFailure(mfa.verifySecondFactor("a", good, code as never, context));
      expect([error.code, error.message], String(code)).toEqual([
        "invalid",
        "A code is six digits",
      ]);
    }
    expect(emulator.requests()).toHaveLength(0);
  });

  it("asks WorkOS with a pending token of 512 characters, and logs a failure as verify", async () => {
    const { mfa, logged } = setup();
    const state = JSON.stringify({ t: "t".repeat(512), c: "auth_challenge_1" });
    emulator.failNext("/user_management/authenticate", { status: 500 });
    expect((await authFailure(mfa.verifySecondFactor("a", state, "123456", context))).code).toBe(
      "unavailable",
    );
    expect(logged.map((entry) => entry.operation)).toEqual(["verify"]);
  });
});
