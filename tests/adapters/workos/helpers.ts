import { afterAll, beforeAll, beforeEach, expect } from "vitest";
import { isAuthError, type AuthError } from "../../../adapters/errors";
import type { StartContext } from "../../../adapters/types";
import {
  createWorkosClient,
  type WorkosClient,
  type WorkosClientOptions,
} from "../../../adapters/workos/client.server";
import type { WorkosFailureLog } from "../../../adapters/workos/errors";
import { startWorkosEmulator, type WorkosEmulator } from "../../emulators/workos/server";

export const startContext: StartContext = {
  linkUrl: "http://app.test/auth/link",
  callbackUrl: "http://app.test/auth/callback",
  state: "opaque-signed-state",
  nonceHash: "0".repeat(64),
  ip: "192.0.2.1",
  userAgent: "vitest",
};

/** A client for the emulator with fast failure settings; `logged` collects its failure log. */
export function emulatorClient(
  emulator: WorkosEmulator,
  overrides: Partial<WorkosClientOptions> = {},
): { client: WorkosClient; logged: WorkosFailureLog[] } {
  const logged: WorkosFailureLog[] = [];
  const client = createWorkosClient({
    apiKey: emulator.apiKey,
    clientId: emulator.clientId,
    apiUrl: emulator.url,
    maxRetries: 0,
    timeoutMs: 2_000,
    retryDelayMs: 10,
    log: (entry) => logged.push(entry),
    ...overrides,
  });
  return { client, logged };
}

/** The AuthError a promise rejects with; fails the test for anything else. */
export async function authFailure(promise: Promise<unknown>): Promise<AuthError> {
  let outcome: unknown;
  try {
    await promise;
    outcome = "resolved";
  } catch (error) {
    outcome = error;
  }
  expect(isAuthError(outcome), `expected an AuthError, got ${String(outcome)}`).toBe(true);
  const error = outcome as AuthError;
  // Nothing of the SDK crosses the boundary: no cause, no SDK class or wording.
  expect(error.cause).toBeUndefined();
  expect(error.name).toBe("AuthError");
  expect(error.message).not.toMatch(/Exception|Error:|workos-node|Request timeout/);
  return error;
}

/** One emulator for the test file, reset before each test; `use` receives it once started. */
export function emulatorPerFile(use: (emulator: WorkosEmulator) => void): void {
  let emulator: WorkosEmulator | undefined;
  beforeAll(async () => {
    emulator = await startWorkosEmulator();
    use(emulator);
  });
  afterAll(() => emulator?.close());
  beforeEach(() => emulator?.reset());
}
