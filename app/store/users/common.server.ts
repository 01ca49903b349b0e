import { randomId } from "../../lib/crypto.server";
import type { IdentityRecord } from "./types";

/** A new user id: `usr_` and 128 random bits in hex. Random, so it tells nothing about the person. */
export function newUserId(): string {
  return `usr_${randomId(16)}`;
}

/** Oldest first; ties by method, then subject (the order every backend returns). */
export function byAge(a: IdentityRecord, b: IdentityRecord): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  const left = `${a.method}\u0000${a.subject}`;
  const right = `${b.method}\u0000${b.subject}`;
  return left < right ? -1 : left > right ? 1 : 0;
}
