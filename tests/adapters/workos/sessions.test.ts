/**
 * Ending WorkOS sessions at sign-out (sessions.server.ts) alone, against the emulator
 * through the real SDK: one session, every session of a user, and what "already gone" is.
 */
import { describe, expect, it } from "vitest";
import { createWorkosMagicAuthAdapter } from "../../../adapters/workos/magic-auth.server";
import { workosSessionEnding } from "../../../adapters/workos/sessions.server";
import type { Identity } from "../../../adapters/types";
import type { WorkosEmulator } from "../../emulators/workos/server";
import { authFailure, emulatorClient, emulatorPerFile, startContext } from "./helpers";

const ADA = "ada@example.com";
let emulator: WorkosEmulator;
emulatorPerFile((started) => (emulator = started));

/** A Magic Auth sign-in, which opens one WorkOS session. */
async function signIn(email = ADA): Promise<Identity> {
  const { client } = emulatorClient(emulator);
  const adapter = createWorkosMagicAuthAdapter({ client, emailMode: "workos" });
  await adapter.start(email, startContext);
  const code = emulator.lastEmailTo(email)?.code ?? "";
  return adapter.verify({ kind: "code", email, code }, { ip: "192.0.2.1", userAgent: "vitest" });
}

function ending(overrides: Parameters<typeof emulatorClient>[1] = {}) {
  const urls: string[] = [];
  const { client, logged } = emulatorClient(emulator, {
    fetch: (input, init) => {
      urls.push(String(input instanceof Request ? input.url : input));
      return fetch(input, init);
    },
    ...overrides,
  });
  return { ...workosSessionEnding(client), urls, logged };
}

const active = (email = ADA) =>
  emulator.userSessions(email).filter((session) => session.status === "active");

describe("workosSessionEnding", () => {
  it("endSession revokes that session and no other", async () => {
    const first = await signIn();
    const second = await signIn();
    await ending().endSession(first.providerSession ?? { id: "", userId: "" });
    expect(active().map((session) => session.id)).toEqual([second.providerSession?.id]);
  });

  it("endSession of a session WorkOS no longer knows succeeds", async () => {
    await ending().endSession({ id: "session_unknown", userId: "user_unknown" });
    expect(emulator.requests().map((r) => r.path)).toEqual(["/user_management/sessions/revoke"]);
  });

  it("endSession passes on a failure other than not found, logged as sign-out", async () => {
    const { endSession, logged } = ending();
    emulator.failNext("/user_management/sessions/revoke", { status: 500 });
    const error = await authFailure(endSession({ id: "session_1", userId: "user_1" }));
    expect(error.code).toBe("unavailable");
    expect(logged.map((entry) => entry.operation)).toEqual(["sign_out"]);
  });

  it("endAllSessions revokes every active session of the user, asking for up to 100", async () => {
    const ada = await signIn();
    await signIn();
    const grace = await signIn("grace@example.com");
    const { endAllSessions, urls } = ending();
    await endAllSessions(ada.providerSession?.userId ?? "");
    expect(active()).toEqual([]);
    expect(active("grace@example.com").map((s) => s.id)).toEqual([grace.providerSession?.id]);
    const listed = new URL(urls[0] ?? "");
    expect(listed.pathname).toBe(`/user_management/users/${ada.providerSession?.userId}/sessions`);
    expect(listed.searchParams.get("limit")).toBe("100");
    expect(urls.slice(1).map((url) => new URL(url).pathname)).toEqual([
      "/user_management/sessions/revoke",
      "/user_management/sessions/revoke",
    ]);
  });

  it("endAllSessions leaves alone a session WorkOS lists as no longer active", async () => {
    const ada = await signIn();
    const session = emulator.userSessions(ADA)[0];
    emulator.failNext("/user_management/users/:id/sessions", {
      status: 200,
      body: {
        object: "list",
        data: [
          {
            object: "session",
            id: session?.id,
            user_id: session?.userId,
            status: "revoked",
            auth_method: "magic_code",
            expires_at: new Date(emulator.now() + 86_400_000).toISOString(),
            ended_at: new Date(emulator.now()).toISOString(),
            created_at: new Date(emulator.now()).toISOString(),
            updated_at: new Date(emulator.now()).toISOString(),
          },
        ],
        list_metadata: { before: null, after: null },
      },
    });
    await ending().endAllSessions(ada.providerSession?.userId ?? "");
    expect(emulator.requests().map((r) => r.path)).not.toContain(
      "/user_management/sessions/revoke",
    );
  });

  it("endAllSessions of a user WorkOS does not know succeeds, with nothing revoked", async () => {
    await ending().endAllSessions("user_unknown");
    expect(emulator.requests().map((r) => r.path)).toEqual([
      "/user_management/users/user_unknown/sessions",
    ]);
  });

  it("endAllSessions goes on past a session that is gone meanwhile", async () => {
    const ada = await signIn();
    await signIn();
    emulator.failNext("/user_management/sessions/revoke", {
      status: 404,
      body: { message: "Session not found." },
    });
    await ending().endAllSessions(ada.providerSession?.userId ?? "");
    // The first revoke answered "gone"; the second was made and ended its session.
    expect(active()).toHaveLength(1);
    expect(
      emulator.requests().filter((r) => r.path === "/user_management/sessions/revoke"),
    ).toHaveLength(2);
  });

  it("endAllSessions passes on a failed list or revoke", async () => {
    const ada = await signIn();
    const userId = ada.providerSession?.userId ?? "";
    const listing = ending();
    emulator.failNext("/user_management/users/:id/sessions", { status: 500 });
    expect((await authFailure(listing.endAllSessions(userId))).code).toBe("unavailable");
    expect(listing.logged.map((entry) => entry.operation)).toEqual(["sign_out"]);
    emulator.failNext("/user_management/sessions/revoke", { status: 429, retryAfter: 7 });
    expect(await authFailure(ending().endAllSessions(userId))).toMatchObject({
      code: "rate_limited",
      retryAfter: 7,
    });
    expect(active()).toHaveLength(1);
  });
});
