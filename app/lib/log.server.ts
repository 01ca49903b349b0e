import { createHash } from "node:crypto";

/**
 * One structured line per sign-in attempt and outcome (S28). Addresses are hashed; tokens,
 * codes and cookie values are never passed in, so they cannot be logged.
 */
export interface AuthEvent {
  step:
    | "start"
    | "resend"
    | "code_instead"
    | "code"
    | "link"
    | "callback"
    | "logout"
    | "logout_all"
    | "revoke"
    /** The users table: a user created, an identity linked, a sign-up refused, an account deleted. */
    | "user"
    | "sso"
    | "second_factor"
    | "provider_logout"
    | "passkey"
    | "passkey_add"
    | "passkey_rename"
    | "passkey_remove";
  outcome: string;
  adapter?: string;
  /** SHA-256 of the normalised address, first 16 hex digits: enough to correlate, not to read. */
  emailHash?: string;
  ip?: string;
  requestId?: string;
}

export type Logger = (event: AuthEvent) => void;

export const jsonLogger: Logger = (event) => {
  process.stdout.write(
    `${JSON.stringify({ time: new Date().toISOString(), type: "auth", ...event })}\n`,
  );
};

export function hashEmail(email: string): string {
  return createHash("sha256").update(email).digest("hex").slice(0, 16);
}
