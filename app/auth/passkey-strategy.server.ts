import { createCookie, type Cookie } from "react-router";
import { Strategy } from "remix-auth/strategy";
import { AuthError, isAuthError } from "../../adapters/errors";
import type { RequestInfo } from "../../adapters/types";
import { randomId } from "../lib/crypto.server";
import { hashEmail, type Logger } from "../lib/log.server";
import { field, readForm } from "./form.server";
import {
  CHALLENGE_TTL_MS,
  PasskeyError,
  passkeyFailureReason,
  type Passkeys,
} from "./passkeys.server";
import type { EmailLinkStrategy } from "./strategy.server";

/** The `adapter` of a session that a passkey signed in (what the dashboard says). */
export const PASSKEY_ADAPTER = "passkey";

/**
 * The pre-sign-in cookie of the passkey ceremony (S29): a random id, signed, that binds the
 * sign-in challenges to the browser that asked for them. It holds nothing else and lives as
 * long as a challenge does.
 */
export interface PasskeyCeremonyCookie {
  readonly cookieName: string;
  /** This browser's ceremony id, or null when it has none (or a forged one). */
  read(request: Request): Promise<string | null>;
  /** The browser's ceremony id (a new one when it has none) and the Set-Cookie to send. */
  issue(request: Request): Promise<{ id: string; setCookie: string }>;
  clear(): Promise<string>;
}

export function createPasskeyCeremonyCookie(options: {
  secrets: readonly string[];
  secure: boolean;
}): PasskeyCeremonyCookie {
  const cookieName = options.secure ? "__Host-passkey" : "passkey";
  const cookie: Cookie = createCookie(cookieName, {
    httpOnly: true,
    secure: options.secure,
    sameSite: "lax",
    path: "/",
    secrets: [...options.secrets],
    maxAge: CHALLENGE_TTL_MS / 1000,
  });
  async function read(request: Request): Promise<string | null> {
    const header = request.headers.get("Cookie");
    if (!header || !header.includes(`${cookieName}=`) || header.length > 16_384) return null;
    try {
      const value: unknown = await cookie.parse(header);
      return typeof value === "string" && /^[0-9a-f]{32}$/.test(value) ? value : null;
    } catch {
      return null;
    }
  }
  return {
    cookieName,
    read,
    async issue(request) {
      // One id per browser, so that several tabs each keep their own challenge.
      const id = (await read(request)) ?? randomId();
      return { id, setCookie: await cookie.serialize(id) };
    },
    clear() {
      return cookie.serialize("", { maxAge: 0, expires: new Date(0) });
    },
  };
}

/**
 * Sign-in with a passkey as a remix-auth strategy, beside the email one: POST `credential`
 * (the browser's assertion as JSON). It spends the same per-IP budget and honours the same
 * lockout as a code or a link (S10–S12), writes the same log line (step `passkey`), and
 * resolves with the user the passkey was registered to; the route then makes a new
 * session exactly as for an email sign-in.
 */
export class PasskeyStrategy<User> extends Strategy<User, PasskeyStrategy.VerifyOptions> {
  name = "passkey";

  constructor(
    protected options: PasskeyStrategy.Options,
    verify: Strategy.VerifyFunction<User, PasskeyStrategy.VerifyOptions>,
  ) {
    super(verify);
  }

  async authenticate(request: Request): Promise<User> {
    const { passkeys, ceremony, limits } = this.options;
    const log = (event: { outcome: string; emailHash?: string; ip?: string }) =>
      this.options.log?.({ step: "passkey", adapter: PASSKEY_ADAPTER, ...event });
    const { ip } = this.options.requestInfo(request);
    const form = await readForm(request);
    let response: unknown;
    try {
      response = JSON.parse(field(form, "credential"));
    } catch {
      log({ outcome: "invalid_input:malformed", ip });
      throw new PasskeyError("invalid_input", "malformed");
    }
    const ceremonyId = await ceremony.read(request);
    if (ceremonyId === null) {
      // No challenge was asked for in this browser, or it is older than a challenge lives.
      log({ outcome: "expired:no_ceremony", ip });
      throw new PasskeyError("expired", "no_challenge");
    }
    // Whose credential it names, for the owner's lockout and the log line; nothing is
    // trusted from this until the assertion is verified.
    const ownerId = await guard(() => passkeys.ownerOf(response));
    const owner = ownerId === null ? null : await guard(() => this.options.users.get(ownerId));
    const emailHash = owner ? hashEmail(owner.email) : undefined;
    if (limits) {
      // The same budgets as a code: the IP's verify budget, and the owner's lockout (S10).
      const decision = await guard(() => limits.allowVerify(owner?.email, ip));
      if (!decision.allowed) {
        log({ outcome: `throttled:${decision.reason}`, emailHash, ip });
        const code = decision.reason === "locked" ? "too_many_attempts" : "rate_limited";
        throw new AuthError(code, "Too many attempts", { retryAfter: decision.retryAfterSeconds });
      }
    }
    let userId: string;
    try {
      userId = await passkeys.authenticate(ceremonyId, response);
      // A deleted account signs in nobody, whatever credential is left behind (S30).
      if (userId !== owner?.id) throw new PasskeyError("invalid", "unknown_credential");
    } catch (error) {
      const authError = toAuthError(error);
      const reason = passkeyFailureReason(error);
      // A counter that went backwards is logged as what it may be: a cloned authenticator.
      log({
        outcome:
          reason === "counter_regression"
            ? "possible_clone"
            : `${authError.code}:${reason ?? "error"}`,
        emailHash,
        ip,
      });
      if (limits && owner && authError.code !== "unavailable") {
        await guard(() => limits.recordFailure(owner.email));
      }
      throw authError;
    }
    if (limits) await guard(() => limits.recordSuccess(owner.email));
    log({ outcome: "success", emailHash, ip });
    return this.verify({ userId, request });
  }
}

function toAuthError(error: unknown): AuthError {
  if (isAuthError(error)) return error;
  return new AuthError("unavailable", "Passkey sign-in failed unexpectedly", { cause: error });
}

/** Store failures fail closed, as "unavailable" (a 503 page). */
async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toAuthError(error);
  }
}

export namespace PasskeyStrategy {
  export interface Options {
    passkeys: Passkeys;
    /** Who a user id is: the address keys the lockout and the log line, as for email. */
    users: { get(id: string): Promise<{ id: string; email: string } | null> };
    ceremony: PasskeyCeremonyCookie;
    /** The email flow's limits: one budget for every way in. */
    limits?: EmailLinkStrategy.Limits;
    requestInfo: (request: Request) => RequestInfo;
    log?: Logger;
  }

  export interface VerifyOptions {
    /** The user the verified passkey was registered to. */
    userId: string;
    request: Request;
  }
}
