/**
 * Where people live: users and the sign-in methods (identities) that lead to them.
 *
 * Unlike the Store (../types.ts) of one-time secrets and counters, nothing here expires: a user
 * stays until the account is deleted. Three backends keep the same contract (one suite in
 * tests/store/user-store-contract.ts runs on each): SQLite tables (the default), Redis
 * records by id with an email index (several instances), and memory (tests).
 *
 * Every call either answers or rejects: with a {@link UserStoreError} for a broken rule
 * (an address or an identity already taken, a user that is gone), or with a
 * `StoreUnavailableError` (../errors.ts) when the backend cannot answer. Callers fail
 * closed on the second.
 */
/** A value of one of a team's own fields: what SQLite, JSON and Redis all keep as it is. */
export type FieldValue = string | number | boolean | null;

/** A team's own fields (see `UserFields` in app/auth/users.server.ts for the typed view). */
export type Fields = Record<string, FieldValue>;

/** One person. Times are ms since the epoch. */
export interface UserRecord {
  /**
   * Stable and random (`usr_` + 128 bits): never derived from the address or from any
   * provider's id, so it survives a change of sign-in method or of provider.
   */
  id: string;
  /** Normalised (app/auth/email.ts) and unique: one address, one person. */
  email: string;
  /** When the address was last proved (every accepted sign-in proves it), or null. */
  emailVerifiedAt: number | null;
  createdAt: number;
  lastSignInAt: number | null;
  /** Names as a provider gave them (WorkOS knows them; an emailed link does not). */
  firstName: string | null;
  lastName: string | null;
  /** The team's own fields; `{}` until the first-sign-in hook or the app fills them. */
  fields: Fields;
}

/** One way into a user: a method and the provider's subject within it. */
export interface IdentityRecord {
  /**
   * The namespace in which `subject` is unique: `local`, `workos` (Magic Link and Magic Auth
   * share WorkOS user ids), `blockid`, `passkey`… (the adapter's `provider`).
   */
  method: string;
  /** The provider's id for this person (a WorkOS user id, `local_<keyed hash>`…). */
  subject: string;
  userId: string;
  createdAt: number;
  lastUsedAt: number;
}

export interface NewUser {
  email: string;
  emailVerifiedAt?: number | null;
  firstName?: string | null;
  lastName?: string | null;
  fields?: Fields;
}

/** What `update` may change. Fields are merged key by key; the address is not changed here. */
export interface UserPatch {
  emailVerifiedAt?: number | null;
  lastSignInAt?: number | null;
  firstName?: string | null;
  lastName?: string | null;
  fields?: Fields;
}

export interface IdentityKey {
  method: string;
  subject: string;
}

export interface UserStore {
  get(id: string): Promise<UserRecord | null>;
  /** The user with this normalised address, or null. */
  getByEmail(email: string): Promise<UserRecord | null>;
  /**
   * Create a user, and with `identity` its first identity, in one atomic step: two
   * concurrent first sign-ins of one address leave exactly one user. Throws
   * `UserStoreError("email_taken")` or `("identity_taken")` and creates nothing then.
   */
  create(
    user: NewUser,
    identity?: IdentityKey,
  ): Promise<{ user: UserRecord; identity?: IdentityRecord }>;
  /** Apply `patch`; null when there is no such user (nothing is created). */
  update(id: string, patch: UserPatch): Promise<UserRecord | null>;
  findIdentity(key: IdentityKey): Promise<IdentityRecord | null>;
  /**
   * Link `key` to the user, or, when it already is, mark it used at `at`. Throws
   * `UserStoreError("identity_taken")` when it belongs to another user and
   * `("no_such_user")` when the user is gone; nothing changes then.
   */
  link(userId: string, key: IdentityKey, at: number): Promise<IdentityRecord>;
  /** Remove one identity of the user; false when the user has no such identity. */
  unlink(userId: string, key: IdentityKey): Promise<boolean>;
  /** The user's identities, oldest first (ties: by method, then subject). */
  identities(userId: string): Promise<IdentityRecord[]>;
  /**
   * Remove the user, the address index and every identity in one atomic step, so no
   * identity can be left pointing at nobody. False when there was no such user.
   */
  delete(id: string): Promise<boolean>;
  /** Release what the backend holds (a connection it owns). */
  close(): Promise<void>;
}

export type UserStoreErrorCode = "email_taken" | "identity_taken" | "no_such_user";

const BRAND = Symbol.for("passwordless-starter.UserStoreError");

/** A rule of the user store refused a change; nothing was written. */
export class UserStoreError extends Error {
  readonly [BRAND] = true;

  constructor(readonly code: UserStoreErrorCode) {
    super(code);
    this.name = "UserStoreError";
  }
}

/** True for any UserStoreError (never `instanceof`: bundles load their own copy). */
export function isUserStoreError(
  error: unknown,
  code?: UserStoreErrorCode,
): error is UserStoreError {
  if (typeof error !== "object" || error === null) return false;
  if ((error as Record<symbol, unknown>)[BRAND] !== true) return false;
  return code === undefined || (error as UserStoreError).code === code;
}
