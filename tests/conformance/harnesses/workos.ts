import { afterAll } from "vitest";
import { createWorkosClient, type WorkosClient } from "../../../adapters/workos/client.server";
import { callbackErrorToAuthError, type WorkosFailureLog } from "../../../adapters/workos/errors";
import type { WorkosEmailMode } from "../../../adapters/workos/magic-link.server";
import type { AuthAdapter, Proof } from "../../../adapters/types";
import { Outbox } from "../../../app/mail/outbox.server";
import { startWorkosEmulator, type WorkosEmulator } from "../../emulators/workos/server";
import type { ConformanceHarness, ProofKind } from "../suite";
import { readAppEmail } from "./outbox";

/**
 * Follow a WorkOS Magic Link the way a browser would, up to the app's callback: returns the
 * callback URL WorkOS redirected to (with `code` and `state`, or `error`).
 */
export async function followMagicLink(link: string): Promise<URL> {
  const response = await fetch(link, { redirect: "manual" });
  await response.body?.cancel();
  const location = response.headers.get("location");
  if (response.status !== 302 || !location) throw new Error(`the link answered ${response.status}`);
  return new URL(location);
}

/** The link or code "delivered" to `email`: by the emulator (WorkOS's email) or the app's outbox. */
export function deliveredTo(
  emulator: WorkosEmulator,
  outbox: Outbox,
  emailMode: WorkosEmailMode,
  email: string,
): { link?: string; code?: string } | undefined {
  return emailMode === "workos" ? emulator.lastEmailTo(email) : readAppEmail(outbox, email);
}

/**
 * A proof from what was delivered: a code as typed, or, for a link, the `code` WorkOS's
 * redirect carries (following the link consumes it, as at WorkOS). A redirect with
 * `error=` is thrown as the AuthError the callback route would raise.
 */
export async function workosProof(
  delivered: { link?: string; code?: string } | undefined,
  email: string,
  kind: ProofKind,
): Promise<Proof | undefined> {
  if (kind === "code" && delivered?.code) return { kind: "code", email, code: delivered.code };
  if (kind === "callback" && delivered?.link) {
    const callback = await followMagicLink(delivered.link);
    const failure = callbackErrorToAuthError(callback.searchParams);
    if (failure) throw failure;
    const code = callback.searchParams.get("code");
    return code ? { kind: "callback", code } : undefined;
  }
  return undefined;
}

export interface WorkosHarnessOptions {
  name: string;
  emailMode: WorkosEmailMode;
  proofKinds: readonly ProofKind[];
  build(client: WorkosClient, mailer: Outbox, emailMode: WorkosEmailMode): AuthAdapter;
  /** Runs after the emulator reset, before the test (e.g. to take a path down). */
  prepare?(emulator: WorkosEmulator): void;
  /** See {@link ConformanceHarness.supersedes}; say why when false. */
  supersedes: boolean;
}

/**
 * A conformance harness for an adapter built on the WorkOS SDK, run against one emulator
 * per test file (reset before every test). Call at the top level of a test file.
 */
export function workosHarness(options: WorkosHarnessOptions): ConformanceHarness {
  let emulator: WorkosEmulator | undefined;
  afterAll(async () => {
    await emulator?.close();
  });
  return {
    name: `${options.name} (WORKOS_EMAIL=${options.emailMode})`,
    proofKinds: options.proofKinds,
    // WorkOS's codes (Magic Auth, and the one a Magic Link redirect carries) live 10 minutes.
    ttlMs: 600_000,
    bindsLinkToBrowser: false,
    // WorkOS counts the wrong tries of a Magic Auth code: the sixth answer is "too many".
    maxCodeAttempts: 5,
    supersedes: options.supersedes,
    hasProvider: true,
    async setup() {
      emulator ??= await startWorkosEmulator();
      const server = emulator;
      server.reset();
      options.prepare?.(server);
      const outbox = new Outbox();
      const logged: WorkosFailureLog[] = [];
      const client = createWorkosClient({
        apiKey: server.apiKey,
        clientId: server.clientId,
        apiUrl: server.url,
        maxRetries: 0,
        timeoutMs: 2_000,
        log: (entry) => logged.push(entry),
      });
      const adapter = options.build(client, outbox, options.emailMode);
      return {
        adapter,
        proof: (email, kind) =>
          workosProof(deliveredTo(server, outbox, options.emailMode, email), email, kind),
        advance: (ms) => server.advance(ms),
        breakProvider: () => server.failNext("*", { status: 500, times: Infinity }),
        rateLimitProvider: (seconds) =>
          server.failNext("*", { status: 429, retryAfter: seconds, times: Infinity }),
        faults: {
          "HTTP 503": () => server.failNext("*", { status: 503, times: Infinity }),
          "HTTP 401": () => server.failNext("*", { status: 401, times: Infinity }),
          "HTTP 404": () => server.failNext("*", { status: 404, times: Infinity }),
          "a body that is not JSON": () =>
            server.failNext("*", { status: 500, body: "<html>oops</html>", times: Infinity }),
          "the connection dropped": () => server.failNext("*", { drop: true, times: Infinity }),
        },
      };
    },
  };
}
