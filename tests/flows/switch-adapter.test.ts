/**
 * One person, two sign-in methods: a sign-in with the local adapter, then (after the team
 * switches AUTH_ADAPTER to WorkOS) with WorkOS Magic Auth for the same address, is one user
 * with two identities. The user id does not change, so the sessions list carries over.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import * as sessionsPage from "../../app/routes/account.sessions";
import * as check from "../../app/routes/login.check";
import * as login from "../../app/routes/login";
import { MemoryStore } from "../../app/store/memory.server";
import { MemoryUserStore } from "../../app/store/users/memory.server";
import { startWorkosEmulator, type WorkosEmulator } from "../emulators/workos/server";
import {
  callRoute,
  CookieJar,
  createTestApp,
  createTestClock,
  getRequest,
  postForm,
  type TestApp,
} from "../support/auth";

let emulator: WorkosEmulator;
beforeAll(async () => {
  emulator = await startWorkosEmulator();
});
afterAll(() => emulator?.close());

const EMAIL = "switch@example.com";

/** Sign in by code in a new browser; the code comes from `codeFor`. */
async function signInByCode(app: TestApp, codeFor: () => string): Promise<CookieJar> {
  const jar = new CookieJar();
  jar.store(
    await callRoute(
      login.action,
      postForm("/login", { email: EMAIL, returnTo: "/" }, { cookie: jar }),
    ),
  );
  const done = await callRoute(
    check.action,
    postForm("/login/check", { code: codeFor() }, { cookie: jar }),
  );
  expect(done.status, JSON.stringify(done.data)).toBe(303);
  jar.store(done);
  return jar;
}

async function userIdIn(app: TestApp, jar: CookieJar): Promise<string | undefined> {
  return (await app.services.sessions.read(getRequest("/", { cookie: jar }))).session?.user.id;
}

it("local, then WorkOS Magic Auth with the same address: one user, two identities, sessions carried over", async () => {
  // One deployment's state across the switch: the store and the users store stay.
  const clock = createTestClock(Date.now());
  const store = new MemoryStore({ clock, sweepIntervalMs: 0 });
  const userStore = new MemoryUserStore({ clock });
  const keep = (app: TestApp) => {
    app.services.close = async () => {};
    return app;
  };

  const local = keep(createTestApp({ clock, store, userStore }));
  const localJar = await signInByCode(local, () => local.lastEmailTo(EMAIL).code as string);
  const userId = await userIdIn(local, localJar);
  expect(userId).toMatch(/^usr_/);
  await local.close();

  const workos = keep(
    createTestApp({
      clock,
      store,
      userStore,
      env: { AUTH_ADAPTER: "workos-magic-auth", ...emulator.env, WORKOS_MAX_RETRIES: "0" },
    }),
  );
  try {
    expect(workos.config.adapter).toBe("workos-magic-auth");
    const workosJar = await signInByCode(workos, () => emulator.lastEmailTo(EMAIL)?.code as string);
    expect(await userIdIn(workos, workosJar)).toBe(userId);

    const identities = await userStore.identities(userId as string);
    expect(identities.map((i) => i.method).sort()).toEqual(["local", "workos"]);
    expect(identities.find((i) => i.method === "workos")?.subject).toMatch(/^user_/);
    expect(userStore.dump()).toHaveLength(1);

    // The sessions page in the WorkOS browser lists the local one too: same user id.
    const page = await callRoute(
      sessionsPage.loader,
      getRequest("/account/sessions", { cookie: workosJar }),
    );
    expect((page.data as { sessions: unknown[] }).sessions).toHaveLength(2);
    // And the browser signed in before the switch is still the same person.
    expect(await userIdIn(workos, localJar)).toBe(userId);
  } finally {
    await workos.close();
  }
});
