import { systemClock, type Clock } from "../../lib/clock";
import { byAge, newUserRecord } from "./common.server";
import {
  UserStoreError,
  type IdentityKey,
  type IdentityRecord,
  type UserRecord,
  type UserStore,
} from "./types";

/** Map key of an identity; the NUL cannot occur in a method name. */
const identityKey = ({ method, subject }: IdentityKey) => `${method}\u0000${subject}`;

/**
 * Users in memory, for tests and `STORE=memory`: one process, gone at restart. Every
 * method does its reads and writes without an await in between, so each is atomic.
 * Records are copied in and out: a caller can never change what is stored by accident.
 */
export class MemoryUserStore implements UserStore {
  readonly #users = new Map<string, UserRecord>();
  readonly #byEmail = new Map<string, string>();
  readonly #identities = new Map<string, IdentityRecord>();
  readonly #clock: Clock;

  constructor(options: { clock?: Clock } = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  /** Every user with its identities, for tests that look at the whole store. */
  dump(): Array<{ user: UserRecord; identities: IdentityRecord[] }> {
    return [...this.#users.values()].map((user) => ({
      user: structuredClone(user),
      identities: this.#identitiesOf(user.id),
    }));
  }

  async get(id: string): Promise<UserRecord | null> {
    const user = this.#users.get(id);
    return user ? structuredClone(user) : null;
  }

  async getByEmail(email: string): Promise<UserRecord | null> {
    const id = this.#byEmail.get(email);
    return id === undefined ? null : this.get(id);
  }

  async create(
    input: Parameters<UserStore["create"]>[0],
    identity?: IdentityKey,
  ): Promise<{ user: UserRecord; identity?: IdentityRecord }> {
    if (this.#byEmail.has(input.email)) throw new UserStoreError("email_taken");
    if (identity && this.#identities.has(identityKey(identity)))
      throw new UserStoreError("identity_taken");
    const now = this.#clock();
    // A copy, so the caller's `fields` object cannot change what is stored.
    const user = structuredClone(newUserRecord(input, now));
    this.#users.set(user.id, user);
    this.#byEmail.set(user.email, user.id);
    if (!identity) return { user: structuredClone(user) };
    const record: IdentityRecord = {
      ...identity,
      userId: user.id,
      createdAt: now,
      lastUsedAt: now,
    };
    this.#identities.set(identityKey(identity), record);
    return { user: structuredClone(user), identity: { ...record } };
  }

  async update(id: string, patch: Parameters<UserStore["update"]>[1]) {
    const user = this.#users.get(id);
    if (!user) return null;
    const { fields, ...rest } = patch;
    for (const [name, value] of Object.entries(rest)) {
      if (value !== undefined) (user as unknown as Record<string, unknown>)[name] = value;
    }
    // A field set to undefined is left as it is, as the other backends do.
    for (const [name, value] of Object.entries(structuredClone(fields ?? {}))) {
      if (value !== undefined) user.fields[name] = value;
    }
    return structuredClone(user);
  }

  async findIdentity(key: IdentityKey): Promise<IdentityRecord | null> {
    const record = this.#identities.get(identityKey(key));
    return record ? { ...record } : null;
  }

  async link(userId: string, key: IdentityKey, at: number): Promise<IdentityRecord> {
    if (!this.#users.has(userId)) throw new UserStoreError("no_such_user");
    const existing = this.#identities.get(identityKey(key));
    if (existing && existing.userId !== userId) throw new UserStoreError("identity_taken");
    if (existing) {
      existing.lastUsedAt = at;
      return { ...existing };
    }
    const record: IdentityRecord = {
      method: key.method,
      subject: key.subject,
      userId,
      createdAt: at,
      lastUsedAt: at,
    };
    this.#identities.set(identityKey(key), record);
    return { ...record };
  }

  async unlink(userId: string, key: IdentityKey): Promise<boolean> {
    const existing = this.#identities.get(identityKey(key));
    if (!existing || existing.userId !== userId) return false;
    this.#identities.delete(identityKey(key));
    return true;
  }

  async identities(userId: string): Promise<IdentityRecord[]> {
    return this.#identitiesOf(userId);
  }

  #identitiesOf(userId: string): IdentityRecord[] {
    return [...this.#identities.values()]
      .filter((record) => record.userId === userId)
      .sort(byAge)
      .map((record) => ({ ...record }));
  }

  async delete(id: string): Promise<boolean> {
    const user = this.#users.get(id);
    if (!user) return false;
    this.#users.delete(id);
    this.#byEmail.delete(user.email);
    for (const [key, record] of this.#identities) {
      if (record.userId === id) this.#identities.delete(key);
    }
    return true;
  }

  async close(): Promise<void> {}
}
