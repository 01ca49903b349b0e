import { describe, expect, it } from "vitest";
import { withFallback } from "../../../adapters/fallback";
import { callbackErrorToAuthError } from "../../../adapters/workos/errors";
import {
  createWorkosMagicAuthAdapter,
  WORKOS_MAGIC_AUTH,
} from "../../../adapters/workos/magic-auth.server";
import {
  createWorkosMagicLinkAdapter,
  WORKOS_MAGIC_LINK,
} from "../../../adapters/workos/magic-link.server";
import { Outbox } from "../../../app/mail/outbox.server";
import type { WorkosEmulator } from "../../emulators/workos/server";
import { deliveredTo, followMagicLink } from "../../conformance/harnesses/workos";
import { authFailure, emulatorClient, startContext, emulatorPerFile } from "./helpers";

const ADA = "ada@example.com";
let emulator: WorkosEmulator;
emulatorPerFile((started) => (emulator = started));

/** `AUTH_ADAPTER=workos`. */
function setup(emailMode: "workos" | "app") {
  const { client } = emulatorClient(emulator);
  const outbox = new Outbox();
  const adapter = withFallback(
    createWorkosMagicLinkAdapter({ client, emailMode, mailer: outbox }),
    createWorkosMagicAuthAdapter({ client, emailMode, mailer: outbox }),
    { name: "workos" },
  );
  return { adapter, delivered: () => deliveredTo(emulator, outbox, emailMode, ADA) };
}

for (const emailMode of ["workos", "app"] as const) {
  describe(`AUTH_ADAPTER=workos, WORKOS_EMAIL=${emailMode}`, () => {
    it("Magic Link failing with 5xx: a code is delivered instead and signs in", async () => {
      const { adapter, delivered } = setup(emailMode);
      emulator.failNext("/passwordless/sessions", { status: 500 });
      const started = await adapter.start(ADA, startContext);
      expect(started).toMatchObject({
        adapter: WORKOS_MAGIC_AUTH,
        delivered: { link: false, code: true },
      });
      const code = delivered()?.code ?? "";
      const identity = await adapter.verify(
        { kind: "code", email: ADA, code },
        { adapter: started.adapter },
      );
      expect(identity).toMatchObject({ email: ADA, adapter: WORKOS_MAGIC_AUTH });
    });

    it("Magic Link turned off (404) falls back too", async () => {
      const { adapter } = setup(emailMode);
      emulator.failNext("/passwordless/sessions", { status: 404, body: { message: "Not found." } });
      expect((await adapter.start(ADA, startContext)).adapter).toBe(WORKOS_MAGIC_AUTH);
    });

    it("Magic Link timing out falls back too", async () => {
      const { client } = emulatorClient(emulator, { timeoutMs: 1_000 });
      const outbox = new Outbox();
      const adapter = withFallback(
        createWorkosMagicLinkAdapter({ client, emailMode, mailer: outbox }),
        createWorkosMagicAuthAdapter({ client, emailMode, mailer: outbox }),
      );
      emulator.failNext("/passwordless/sessions", { delayMs: 3_000 });
      expect((await adapter.start(ADA, startContext)).adapter).toBe(WORKOS_MAGIC_AUTH);
    });

    it("429 from Magic Link is rate_limited and nothing else is asked", async () => {
      const { adapter } = setup(emailMode);
      emulator.failNext("/passwordless/sessions", { status: 429, retryAfter: 30 });
      expect(await authFailure(adapter.start(ADA, startContext))).toMatchObject({
        code: "rate_limited",
        retryAfter: 30,
      });
      expect(emulator.requests().map((r) => r.path)).toEqual(["/passwordless/sessions"]);
    });

    it("a bad API key is misconfigured, not a reason to fall back", async () => {
      const { client } = emulatorClient(emulator, { apiKey: "sk_test_wrong" });
      const adapter = withFallback(
        createWorkosMagicLinkAdapter({ client, emailMode, mailer: new Outbox() }),
        createWorkosMagicAuthAdapter({ client, emailMode, mailer: new Outbox() }),
      );
      expect((await authFailure(adapter.start(ADA, startContext))).code).toBe("misconfigured");
      expect(emulator.requests()).toHaveLength(1);
    });

    it("the scanner case: a used link, then 'email me a code instead' signs in", async () => {
      const { adapter, delivered } = setup(emailMode);
      const started = await adapter.start(ADA, startContext);
      expect(started.adapter).toBe(WORKOS_MAGIC_LINK);
      const link = delivered()?.link ?? "";
      await followMagicLink(link); // the mail scanner
      const mine = await followMagicLink(link);
      expect(callbackErrorToAuthError(mine.searchParams)?.code).toBe("used");
      const resent = await adapter.sendCode?.(ADA, startContext);
      expect(resent?.adapter).toBe(WORKOS_MAGIC_AUTH);
      // The pending cookie may still name the link adapter: the code goes to the code issuer.
      const identity = await adapter.verify(
        { kind: "code", email: ADA, code: delivered()?.code ?? "" },
        { adapter: started.adapter },
      );
      expect(identity).toMatchObject({ email: ADA, adapter: WORKOS_MAGIC_AUTH });
    });
  });
}
