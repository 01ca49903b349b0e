/**
 * People, not just identities: every sign-in method leads to one user record.
 *
 * The first part of this file is yours to edit: the fields your app keeps about a person
 * (`UserFields`) and what happens at a person's first sign-in (`onFirstSignIn`). The rest
 * turns a verified identity into a user (creating or linking, `SIGN_UP`, `LINK_BY_EMAIL`)
 * and deletes accounts.
 */
import { AuthError, isAuthError } from "../../adapters/errors";
import type { Identity } from "../../adapters/types";
import { systemClock, type Clock } from "../lib/clock";
import { hashEmail, type Logger } from "../lib/log.server";
import { isStoreUnavailableError } from "../store/errors";
import {
  isUserStoreError,
  type IdentityKey,
  type IdentityRecord,
  type UserRecord,
  type UserStore,
} from "../store/users/types";
import { normaliseEmail } from "./email";

// ---------------------------------------------------------------------------------------
// Edit here.
// ---------------------------------------------------------------------------------------

/**
 * Your own fields on every user. Add what your app needs (a plan, a role, a display name);
 * values are strings, numbers, booleans or null. They are kept by every backend as they
 * are; on SQLite a field may also get a real column (README, "Users": adding a column).
 */
export interface UserFields {
  /** How the app greets the person: the provider's names at first sign-in, if it has them. */
  displayName?: string;
}

/** What the first-sign-in hook knows about a newcomer. */
export interface FirstSignIn {
  /** The normalised, verified address. */
  email: string;
  /** What the sign-in method said: names, the adapter, the provider's id. */
  identity: Identity;
}

export type FirstSignInDecision =
  /** Create the user, with these fields. */
  | { allow: true; fields?: UserFields }
  /** Create nobody: the person is told plainly that sign-ups are closed to them. */
  | { allow: false };

/**
 * Runs once per person, after they proved their address and before their user is created
 * (never for a returning user, never for a linked second method). Fill your own fields, or
 * refuse, e.g. to let in only your company's domain. With `SIGN_UP=closed` it is not
 * called: nobody new gets in.
 *
 * @example
 * // Only addresses at example.com may sign up; everyone starts on the free plan.
 * if (!email.endsWith("@example.com")) return { allow: false };
 * return { allow: true, fields: { plan: "free" } };
 */
export async function onFirstSignIn({ identity }: FirstSignIn): Promise<FirstSignInDecision> {
  const name = [identity.firstName, identity.lastName].filter(Boolean).join(" ");
  return { allow: true, fields: name ? { displayName: name } : {} };
}

// ---------------------------------------------------------------------------------------
// The machinery.
// ---------------------------------------------------------------------------------------

/** A user as the app sees it: the record with the team's typed fields. */
export type User = Omit<UserRecord, "fields"> & { fields: UserFields };

/**
 * Removes what another part of the app keeps for a user (passkeys, uploads…) when the
 * account is deleted. Runs before the user record goes, so it can still read it; a
 * failure stops the deletion, so nothing is left half-removed without the person knowing.
 */
export type AccountCleanup = (userId: string) => Promise<void>;

export interface UserServiceOptions {
  store: UserStore;
  clock?: Clock;
  /** `LINK_BY_EMAIL`: a new method with a known verified address joins that user. */
  linkByEmail: boolean;
  /** `SIGN_UP`: `closed` lets only existing users in. */
  signUp: "open" | "closed";
  /** The first-sign-in hook; {@link onFirstSignIn} unless a test brings its own. */
  firstSignIn?: (signIn: FirstSignIn) => Promise<FirstSignInDecision>;
  /**
   * Run at account deletion before the user is removed: sessions, passkeys and whatever
   * else is kept per user id. Add yours in app/services.server.ts.
   */
  cleanups?: AccountCleanup[];
  log?: Logger;
}

export interface UserService {
  readonly store: UserStore;
  /**
   * The user a verified identity belongs to: the one already linked to it; else, with
   * `LINK_BY_EMAIL` on, the one with the same verified address (the identity is linked);
   * else a new one (`SIGN_UP=open` and the hook allowing). Records the sign-in.
   * Throws AuthError `sign_up_closed`, `account_exists`, `invalid` or `unavailable`.
   */
  signIn(identity: Identity): Promise<User>;
  get(id: string): Promise<User | null>;
  identities(id: string): Promise<IdentityRecord[]>;
  /**
   * Delete the account: every cleanup (sessions on every device, passkeys…), then the user
   * with its identities. False when there was no such user (nothing to do).
   */
  deleteAccount(id: string): Promise<boolean>;
}

/** The identity's key in the users store: its provider namespace and the provider's id. */
export function identityKey(identity: Identity): IdentityKey {
  return { method: identity.provider ?? identity.adapter, subject: identity.id };
}

export function createUserService(options: UserServiceOptions): UserService {
  const { store } = options;
  const clock = options.clock ?? systemClock;
  const firstSignIn = options.firstSignIn ?? onFirstSignIn;
  const cleanups = options.cleanups ?? [];
  const log = options.log ?? (() => undefined);

  /** Mark the sign-in on the user (and the identity), and answer the fresh record. */
  async function signedIn(user: UserRecord, key: IdentityKey, verified: boolean): Promise<User> {
    const now = clock();
    await store.link(user.id, key, now);
    const updated = await store.update(user.id, {
      lastSignInAt: now,
      ...(verified ? { emailVerifiedAt: now } : {}),
    });
    if (!updated) throw new AuthError("invalid", "The account was deleted meanwhile");
    return updated as User;
  }

  async function resolve(identity: Identity, email: string): Promise<User> {
    const key = identityKey(identity);
    // Security: only a proof of the inbox may join a method to an existing user by address.
    // Every adapter the starter ships proves it; a provider that says otherwise is kept apart.
    const verified = identity.emailVerified !== false;
    const emailHash = hashEmail(email);
    // Two first sign-ins of one address can race; the loser finds the winner's user.
    for (let attempt = 0; attempt < 3; attempt++) {
      const linked = await store.findIdentity(key);
      if (linked) {
        const user = await store.get(linked.userId);
        if (user) return signedIn(user, key, verified && user.email === email);
      }
      const existing = await store.getByEmail(email);
      if (existing) {
        if (!options.linkByEmail || !verified) {
          log({
            step: "user",
            outcome: "refused:account_exists",
            adapter: identity.adapter,
            emailHash,
          });
          throw new AuthError("account_exists", "The address belongs to another sign-in method");
        }
        const user = await signedIn(existing, key, true);
        log({ step: "user", outcome: "linked", adapter: identity.adapter, emailHash });
        return user;
      }
      // Told only now, after the proof: POST /login answered this address like any other.
      if (options.signUp === "closed") {
        log({
          step: "user",
          outcome: "refused:sign_up_closed",
          adapter: identity.adapter,
          emailHash,
        });
        throw new AuthError("sign_up_closed", "Sign-up is closed");
      }
      const decision = await firstSignIn({ email, identity });
      if (!decision.allow) {
        log({ step: "user", outcome: "refused:hook", adapter: identity.adapter, emailHash });
        throw new AuthError("sign_up_closed", "The first-sign-in hook refused");
      }
      const now = clock();
      try {
        const { user } = await store.create(
          {
            email,
            emailVerifiedAt: verified ? now : null,
            firstName: identity.firstName ?? null,
            lastName: identity.lastName ?? null,
            fields: clean(decision.fields ?? {}),
          },
          key,
        );
        log({ step: "user", outcome: "created", adapter: identity.adapter, emailHash });
        const updated = await store.update(user.id, { lastSignInAt: now });
        return (updated ?? user) as User;
      } catch (error) {
        if (isUserStoreError(error, "email_taken") || isUserStoreError(error, "identity_taken"))
          continue;
        throw error;
      }
    }
    throw new AuthError("unavailable", "Could not settle the user for this sign-in");
  }

  return {
    store,
    async signIn(identity) {
      const normalised = normaliseEmail(identity.email);
      if (!normalised.ok) throw new AuthError("invalid", "The provider gave no usable address");
      try {
        return await resolve(identity, normalised.email);
      } catch (error) {
        throw asAuthError(error);
      }
    },
    async get(id) {
      return (await store.get(id)) as User | null;
    },
    identities: (id) => store.identities(id),
    async deleteAccount(id) {
      const user = await store.get(id);
      if (!user) return false;
      for (const cleanup of cleanups) await cleanup(id);
      const removed = await store.delete(id);
      log({ step: "user", outcome: "deleted", emailHash: hashEmail(user.email) });
      return removed;
    },
  };
}

/** Drop fields left undefined: the stores keep only values. */
function clean(fields: UserFields): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined) out[name] = value as string | number | boolean | null;
  }
  return out;
}

/** Store failures fail closed as "unavailable"; nothing else leaves as anything but AuthError. */
function asAuthError(error: unknown): AuthError {
  if (isAuthError(error)) return error;
  if (isStoreUnavailableError(error))
    return new AuthError("unavailable", "The users store is unavailable", { cause: error });
  return new AuthError("unavailable", "Could not settle the user for this sign-in", {
    cause: error,
  });
}
