import { describe, expect, it } from "vitest";
import { isAuthError } from "../../adapters/errors";
import type { Identity } from "../../adapters/types";
import {
  createUserService,
  onFirstSignIn,
  type UserServiceOptions,
} from "../../app/auth/users.server";
import { hashEmail, type AuthEvent } from "../../app/lib/log.server";
import { StoreUnavailableError } from "../../app/store/errors";
import { MemoryUserStore } from "../../app/store/users/memory.server";
import { UserStoreError } from "../../app/store/users/types";
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

describe("what a sign-in records, and how it fails", () => {
  /** The error a sign-in rejects with (the test fails when it resolves). */
  async function errorOf(promise: Promise<unknown>): Promise<Error> {
    const error = await promise.then(
      () => null,
      (thrown: unknown) => thrown,
    );
    if (!(error instanceof Error)) throw new Error(`expected a rejection, got ${String(error)}`);
    return error;
  }

  it("a returning sign-in with a verified address renews emailVerifiedAt; an unverified one does not", async () => {
    const { users, clock } = setup();
    const created = clock();
    await users.signIn(LOCAL);
    clock.advance(60_000);
    expect((await users.signIn({ ...LOCAL, emailVerified: false })).emailVerifiedAt).toBe(created);
    clock.advance(60_000);
    expect((await users.signIn(LOCAL)).emailVerifiedAt).toBe(clock());
  });

  it("a returning identity whose provider now gives another address verifies nothing", async () => {
    // The link holds, but the proof was of another inbox than the user's own address.
    const { users, clock } = setup();
    const ada = await users.signIn(LOCAL);
    clock.advance(60_000);
    const again = await users.signIn({ ...LOCAL, email: "ada.l@example.com" });
    expect(again.id).toBe(ada.id);
    expect(again.email).toBe("ada@example.com");
    expect(again.emailVerifiedAt).toBe(ada.emailVerifiedAt);
    expect(again.lastSignInAt).toBe(clock());
  });

  it("a method linked by address marks the address verified now", async () => {
    const { users, clock } = setup();
    const ada = await users.signIn(LOCAL);
    clock.advance(60_000);
    const linked = await users.signIn(WORKOS);
    expect(linked.id).toBe(ada.id);
    expect(linked.emailVerifiedAt).toBe(clock());
    expect(linked.lastSignInAt).toBe(clock());
  });

  it("an unverified first sign-in creates a user whose address is not verified", async () => {
    const { users } = setup();
    expect((await users.signIn({ ...WORKOS, emailVerified: false })).emailVerifiedAt).toBeNull();
  });

  it("a link to a user deleted meanwhile is passed over: the address decides", async () => {
    const { users, store } = setup();
    const ada = await users.signIn(LOCAL);
    const findIdentity = store.findIdentity.bind(store);
    store.findIdentity = async (key) => {
      const found = await findIdentity(key);
      return found && { ...found, userId: "usr_gone" };
    };
    expect((await users.signIn(LOCAL)).id).toBe(ada.id);
  });

  it("a user deleted between the link and the update is refused as 'invalid'", async () => {
    const { users, store } = setup();
    await users.signIn(LOCAL);
    store.update = async () => null;
    const error = await errorOf(users.signIn(LOCAL));
    expect(error).toMatchObject({ code: "invalid", message: "The account was deleted meanwhile" });
  });

  it("a first sign-in whose identity another sign-in of it just took finds that user", async () => {
    // The same identity arriving twice at once, the provider's address changed in between.
    const { users, store } = setup();
    const [a, b] = await Promise.all([
      users.signIn(LOCAL),
      users.signIn({ ...LOCAL, email: "ada.l@example.com" }),
    ]);
    expect(b.id).toBe(a.id);
    expect(await store.getByEmail("ada.l@example.com")).toBeNull();
  });

  it("a race that never settles gives up after three tries, as 'unavailable'", async () => {
    const { users, store } = setup();
    let creates = 0;
    store.create = async () => {
      creates += 1;
      throw new UserStoreError("email_taken");
    };
    const error = await errorOf(users.signIn(LOCAL));
    expect(error).toMatchObject({
      code: "unavailable",
      message: "Could not settle the user for this sign-in",
    });
    expect(creates).toBe(3);
  });

  it("a store that fails while creating fails at once, with the store's error as the cause", async () => {
    const { users, store } = setup();
    const cause = new StoreUnavailableError();
    let creates = 0;
    store.create = async () => {
      creates += 1;
      throw cause;
    };
    const error = await errorOf(users.signIn(LOCAL));
    expect(error).toMatchObject({ code: "unavailable", message: "The users store is unavailable" });
    expect(error.cause).toBe(cause);
    expect(creates).toBe(1);
  });

  it("any other failure leaves as an AuthError too, with its cause", async () => {
    const { users, store } = setup();
    const cause = new TypeError("broken");
    store.getByEmail = async () => {
      throw cause;
    };
    const error = await errorOf(users.signIn(LOCAL));
    expect(isAuthError(error)).toBe(true);
    expect(error).toMatchObject({
      code: "unavailable",
      message: "Could not settle the user for this sign-in",
    });
    expect(error.cause).toBe(cause);
  });

  it("each refusal says why, and is logged with the adapter and the address's hash only", async () => {
    const emailHash = hashEmail("ada@example.com");
    const apart = setup({ linkByEmail: false });
    await apart.users.signIn(LOCAL);
    expect(await errorOf(apart.users.signIn(WORKOS))).toMatchObject({
      code: "account_exists",
      message: "The address belongs to another sign-in method",
    });
    expect(apart.events.at(-1)).toEqual({
      step: "user",
      outcome: "refused:account_exists",
      adapter: "workos-magic-auth",
      emailHash,
    });

    const closed = setup({ signUp: "closed" });
    expect(await errorOf(closed.users.signIn(LOCAL))).toMatchObject({
      code: "sign_up_closed",
      message: "Sign-up is closed",
    });
    expect(closed.events).toEqual([
      { step: "user", outcome: "refused:sign_up_closed", adapter: "local", emailHash },
    ]);

    const hook = setup({ firstSignIn: async () => ({ allow: false }) });
    expect(await errorOf(hook.users.signIn(LOCAL))).toMatchObject({
      code: "sign_up_closed",
      message: "The first-sign-in hook refused",
    });
    expect(hook.events).toEqual([
      { step: "user", outcome: "refused:hook", adapter: "local", emailHash },
    ]);

    expect(await errorOf(hook.users.signIn({ ...LOCAL, email: "not an address" }))).toMatchObject({
      code: "invalid",
      message: "The provider gave no usable address",
    });
  });

  it("creating, linking and deleting are logged with the address's hash", async () => {
    const { users, events } = setup();
    const emailHash = hashEmail("ada@example.com");
    const ada = await users.signIn(LOCAL);
    await users.signIn(WORKOS);
    await users.deleteAccount(ada.id);
    expect(events).toEqual([
      { step: "user", outcome: "created", adapter: "local", emailHash },
      { step: "user", outcome: "linked", adapter: "workos-magic-auth", emailHash },
      { step: "user", outcome: "deleted", emailHash },
    ]);
  });

  it("fields the hook leaves undefined are not stored", async () => {
    const { users, store } = setup({
      firstSignIn: async () => ({ allow: true, fields: { displayName: undefined } }),
    });
    const ada = await users.signIn(LOCAL);
    expect(Object.keys(ada.fields)).toEqual([]);
    expect(Object.keys((await store.get(ada.id))!.fields)).toEqual([]);
  });

  it("lists a user's identities, and deletes an account with no cleanups configured", async () => {
    const { users, store } = setup();
    const ada = await users.signIn(LOCAL);
    await users.signIn(WORKOS);
    expect((await users.identities(ada.id)).map((i) => i.method)).toEqual(["local", "workos"]);
    expect(await users.deleteAccount(ada.id)).toBe(true);
    expect(await store.get(ada.id)).toBeNull();
  });
});
