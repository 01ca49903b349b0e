import { describe, expect, it } from "vitest";
import { isAuthError } from "../../adapters/errors";
import type { Identity } from "../../adapters/types";
import {
  createUserService,
  onFirstSignIn,
  type UserServiceOptions,
} from "../../app/auth/users.server";
import type { AuthEvent } from "../../app/lib/log.server";
import { StoreUnavailableError } from "../../app/store/errors";
import { MemoryUserStore } from "../../app/store/users/memory.server";
import { createTestClock } from "../support/clock";

const LOCAL: Identity = { id: "local_aaa", email: "ada@example.com", adapter: "local" };
const WORKOS: Identity = {
  id: "user_01WORKOS",
  email: "ada@example.com",
  firstName: "Ada",
  lastName: "Lovelace",
  adapter: "workos-magic-auth",
  provider: "workos",
};

function setup(options: Partial<UserServiceOptions> = {}) {
  const clock = createTestClock();
  const store = new MemoryUserStore({ clock });
  const events: AuthEvent[] = [];
  const users = createUserService({
    store,
    clock,
    linkByEmail: true,
    signUp: "open",
    log: (event) => events.push(event),
    ...options,
  });
  return { clock, store, users, events };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "resolved";
  } catch (error) {
    return isAuthError(error) ? error.code : `not an AuthError: ${String(error)}`;
  }
}

describe("signing in resolves an identity to one user", () => {
  it("the first sign-in creates the user with its identity, verified and signed in now", async () => {
    const { users, store, clock } = setup();
    const user = await users.signIn(LOCAL);
    expect(user).toMatchObject({
      email: "ada@example.com",
      emailVerifiedAt: clock(),
      lastSignInAt: clock(),
      createdAt: clock(),
    });
    expect(await store.identities(user.id)).toEqual([
      expect.objectContaining({ method: "local", subject: "local_aaa", userId: user.id }),
    ]);
  });

  it("a later sign-in by the same method is the same user, with the sign-in recorded", async () => {
    const { users, clock } = setup();
    const first = await users.signIn(LOCAL);
    clock.advance(60_000);
    const again = await users.signIn(LOCAL);
    expect(again.id).toBe(first.id);
    expect(again.lastSignInAt).toBe(clock());
    expect(again.createdAt).toBe(first.createdAt);
  });

  it("another method with the same verified address links to the same user (LINK_BY_EMAIL on)", async () => {
    const { users, store, events } = setup();
    const local = await users.signIn(LOCAL);
    const workos = await users.signIn(WORKOS);
    expect(workos.id).toBe(local.id);
    expect((await store.identities(local.id)).map((i) => `${i.method}:${i.subject}`)).toEqual([
      "local:local_aaa",
      "workos:user_01WORKOS",
    ]);
    expect(events.map((e) => e.outcome)).toEqual(["created", "linked"]);
    // And back again: both methods keep leading to the one user.
    expect((await users.signIn(LOCAL)).id).toBe(local.id);
  });

  it("Magic Link and Magic Auth share the WorkOS namespace: one identity, not two", async () => {
    const { users, store } = setup();
    const user = await users.signIn(WORKOS);
    await users.signIn({ ...WORKOS, adapter: "workos-magic-link" });
    expect(await store.identities(user.id)).toHaveLength(1);
  });

  it("with LINK_BY_EMAIL=0 another method for a known address is refused, and nothing is linked", async () => {
    const { users, store } = setup({ linkByEmail: false });
    const local = await users.signIn(LOCAL);
    expect(await codeOf(users.signIn(WORKOS))).toBe("account_exists");
    expect(await store.identities(local.id)).toHaveLength(1);
    expect(await store.findIdentity({ method: "workos", subject: WORKOS.id })).toBeNull();
    // The method the person used before still works.
    expect((await users.signIn(LOCAL)).id).toBe(local.id);
  });

  it("an identity whose address the provider did not verify is never linked by address", async () => {
    const { users, store } = setup();
    const local = await users.signIn(LOCAL);
    expect(await codeOf(users.signIn({ ...WORKOS, emailVerified: false }))).toBe("account_exists");
    expect(await store.identities(local.id)).toHaveLength(1);
  });

  it("names come from the provider at creation; the hook fills the team's fields", async () => {
    const { users } = setup();
    const user = await users.signIn(WORKOS);
    expect(user).toMatchObject({ firstName: "Ada", lastName: "Lovelace" });
    expect(user.fields).toEqual({ displayName: "Ada Lovelace" });
    expect((await setup().users.signIn(LOCAL)).fields).toEqual({});
  });

  it("concurrent first sign-ins of one address by two methods make one user", async () => {
    const { users, store } = setup();
    const [a, b] = await Promise.all([users.signIn(LOCAL), users.signIn(WORKOS)]);
    expect(a.id).toBe(b.id);
    expect(await store.identities(a.id)).toHaveLength(2);
  });

  it("a provider's address is normalised; one that is not an address is refused", async () => {
    const { users } = setup();
    const user = await users.signIn({ ...LOCAL, email: "Ada@EXAMPLE.com" });
    expect(user.email).toBe("ada@example.com");
    expect(await codeOf(users.signIn({ ...LOCAL, id: "x", email: "a,b@example.com" }))).toBe(
      "invalid",
    );
  });

  it("a store that cannot answer fails closed as 'unavailable'", async () => {
    const { users, store } = setup();
    store.findIdentity = async () => {
      throw new StoreUnavailableError();
    };
    expect(await codeOf(users.signIn(LOCAL))).toBe("unavailable");
  });
});

describe("SIGN_UP and the first-sign-in hook", () => {
  it("SIGN_UP=closed lets existing users in and refuses newcomers, creating nothing", async () => {
    const store = new MemoryUserStore();
    const open = createUserService({ store, linkByEmail: true, signUp: "open" });
    const ada = await open.signIn(LOCAL);
    const closed = createUserService({ store, linkByEmail: true, signUp: "closed" });
    expect((await closed.signIn(LOCAL)).id).toBe(ada.id);
    // An existing user may still add a method: only new people are kept out.
    expect((await closed.signIn(WORKOS)).id).toBe(ada.id);
    expect(await codeOf(closed.signIn({ ...LOCAL, id: "local_b", email: "bob@example.com" }))).toBe(
      "sign_up_closed",
    );
    expect(await store.getByEmail("bob@example.com")).toBeNull();
  });

  it("the hook runs once per person, and may refuse", async () => {
    const seen: string[] = [];
    const { users, store } = setup({
      firstSignIn: async ({ email, identity }) => {
        seen.push(`${email}:${identity.adapter}`);
        if (!email.endsWith("@example.com")) return { allow: false };
        return { allow: true, fields: { displayName: "From the hook" } };
      },
    });
    const ada = await users.signIn(LOCAL);
    await users.signIn(LOCAL);
    await users.signIn(WORKOS);
    expect(ada.fields).toEqual({ displayName: "From the hook" });
    expect(seen).toEqual(["ada@example.com:local"]);
    expect(
      await codeOf(users.signIn({ ...LOCAL, id: "local_e", email: "eve@elsewhere.test" })),
    ).toBe("sign_up_closed");
    expect(await store.getByEmail("eve@elsewhere.test")).toBeNull();
  });

  it("the starter's own hook greets by the provider's names, when there are any", async () => {
    expect(await onFirstSignIn({ email: "a@example.com", identity: WORKOS })).toEqual({
      allow: true,
      fields: { displayName: "Ada Lovelace" },
    });
    expect(await onFirstSignIn({ email: "a@example.com", identity: LOCAL })).toEqual({
      allow: true,
      fields: {},
    });
  });
});

describe("deleting an account", () => {
  it("runs every cleanup first, then removes the user and its identities", async () => {
    const order: string[] = [];
    const store = new MemoryUserStore();
    const users = createUserService({
      store,
      linkByEmail: true,
      signUp: "open",
      cleanups: [
        async (id) => void order.push(`sessions:${(await store.get(id))?.email}`),
        async (id) => void order.push(`passkeys:${(await store.get(id))?.email}`),
      ],
    });
    const ada = await users.signIn(LOCAL);
    await users.signIn(WORKOS);
    expect(await users.deleteAccount(ada.id)).toBe(true);
    expect(order).toEqual(["sessions:ada@example.com", "passkeys:ada@example.com"]);
    expect(store.dump()).toEqual([]);
    expect(await users.deleteAccount(ada.id)).toBe(false);
  });

  it("a failing cleanup stops the deletion: the user stays, to be deleted again", async () => {
    const store = new MemoryUserStore();
    const users = createUserService({
      store,
      linkByEmail: true,
      signUp: "open",
      cleanups: [
        async () => {
          throw new StoreUnavailableError();
        },
      ],
    });
    const ada = await users.signIn(LOCAL);
    await expect(users.deleteAccount(ada.id)).rejects.toThrow(StoreUnavailableError);
    expect(await store.get(ada.id)).not.toBeNull();
  });
});
