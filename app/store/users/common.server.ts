import { randomId } from "../../lib/crypto.server";
import type { IdentityRecord, NewUser, UserRecord } from "./types";

/** A new user id: `usr_` and 128 random bits in hex. Random, so it tells nothing about the person. */
export function newUserId(): string {
  return `usr_${randomId(16)}`;
}

/**
 * The record of a user created at `now` from `input`: a fresh id, never signed in, and what
 * `input` leaves out as null (no fields: an empty object). The backends that build the whole
 * record before they store it share this, so a new core field is added in one place.
 */
export function newUserRecord(input: NewUser, now: number): UserRecord {
  return {
    id: newUserId(),
    email: input.email,
    emailVerifiedAt: input.emailVerifiedAt ?? null,
    createdAt: now,
    lastSignInAt: null,
    firstName: input.firstName ?? null,
    lastName: input.lastName ?? null,
    fields: input.fields ?? {},
  };
}

/**
 * Oldest first; ties by method, then subject (the order every backend returns). Never 0:
 * it orders one user's identities, and no two of them share a method and a subject.
 */
export function byAge(a: IdentityRecord, b: IdentityRecord): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  const left = `${a.method}\u0000${a.subject}`;
  const right = `${b.method}\u0000${b.subject}`;
  return left < right ? -1 : 1;
}
