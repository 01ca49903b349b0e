import { redirect } from "react-router";
import { Strategy } from "remix-auth/strategy";
import { AuthError, isAuthError } from "../../adapters/errors";
import type {
  AuthAdapter,
  Identity,
  Proof,
  RequestInfo,
  StartContext,
  StartResult,
} from "../../adapters/types";
import { hashEmail, type AuthEvent, type Logger } from "../lib/log.server";
import { normaliseEmail } from "./email";
import { field, readForm } from "./form.server";
import type { PendingLogin, PendingLoginStore } from "./pending.server";
import { safeReturnTo } from "./return-to";

/**
 * The one provider-neutral remix-auth strategy. Every step of an email sign-in goes through
 * `authenticate`, which tells the steps apart by method and form:
 *
 * - POST `email` (+ `returnTo`): start. Always ends in a thrown 303 to the check-email page
 *   with a pending-login cookie, whatever the address (S13).
 * - POST `intent=resend`: the same for the pending address.
 * - POST `intent=code-instead`: ask the adapter for a code for the pending address (the
 *   fallback after a scanner used the link).
 * - POST `code`: verify the code for the pending address.
 * - POST `token`: verify a link token (only in the browser that started, S8).
 * - GET or POST `code` + `state`: a provider's callback.
 *
 * A verify step resolves with the user from the verify function; the route action then
 * creates the session. Failures throw {@link AuthError}s for the route to put into words.
 */
export class EmailLinkStrategy<User> extends Strategy<User, EmailLinkStrategy.VerifyOptions> {
  name = "email-link";

  constructor(
    protected options: EmailLinkStrategy.Options,
    verify: Strategy.VerifyFunction<User, EmailLinkStrategy.VerifyOptions>,
  ) {
    super(verify);
  }

  async authenticate(request: Request): Promise<User> {
    const url = new URL(request.url);
    if (request.method === "GET" || request.method === "HEAD") {
      if (url.searchParams.has("code") && url.searchParams.has("state")) {
        return this.#callback(
          request,
          url.searchParams.get("code") ?? "",
          url.searchParams.get("state"),
        );
      }
      throw new AuthError("invalid_input", "Nothing to verify");
    }
    const form = await readForm(request);
    const intent = field(form, "intent");
    if (intent === "resend") return this.#resend(request);
    if (intent === "code-instead") return this.#codeInstead(request);
    if (form.has("token"))
      return this.#verify(request, "link", { kind: "link", token: field(form, "token") });
    if (form.has("state"))
      return this.#callback(request, field(form, "code"), field(form, "state"));
    if (form.has("code")) return this.#verifyCode(request, field(form, "code"));
    return this.#start(request, field(form, "email"), field(form, "returnTo"));
  }

  #info(request: Request): RequestInfo {
    return this.options.requestInfo(request);
  }

  #log(event: AuthEvent): void {
    this.options.log?.(event);
  }

  #context(request: Request, pending: PendingLogin): StartContext {
    const origin = this.options.appOrigin;
    return {
      ...this.#info(request),
      // Built from the configured origin only, never from Host or X-Forwarded-Host (S15).
      linkUrl: `${origin}/auth/link`,
      callbackUrl: `${origin}/auth/callback`,
      state: this.options.pending.state(pending),
      nonceHash: this.options.pending.nonceHash(pending),
    };
  }

  async #start(request: Request, rawEmail: string, rawReturnTo: string): Promise<never> {
    const normalised = normaliseEmail(rawEmail);
    if (!normalised.ok) {
      this.#log({ step: "start", outcome: `invalid_input:${normalised.reason}` });
      throw new AuthError("invalid_input", normalised.reason);
    }
    return this.#deliver(
      request,
      "start",
      normalised.email,
      safeReturnTo(rawReturnTo),
      (email, ctx) => this.options.adapter.start(email, ctx),
    );
  }

  async #resend(request: Request): Promise<never> {
    const pending = await this.#requirePending(request, "resend");
    return this.#deliver(request, "resend", pending.email, pending.returnTo, (email, ctx) =>
      this.options.adapter.start(email, ctx),
    );
  }

  async #codeInstead(request: Request): Promise<never> {
    const pending = await this.#requirePending(request, "code_instead");
    const { adapter } = this.options;
    if (!adapter.sendCode) throw new AuthError("invalid_input", "This sign-in method has no codes");
    const sendCode = adapter.sendCode.bind(adapter);
    return this.#deliver(request, "code_instead", pending.email, pending.returnTo, sendCode);
  }

  /**
   * Send (or, when throttled, pretend to) and answer with the same 303 either way (S11,
   * S13): the response never says whether mail went out.
   */
  async #deliver(
    request: Request,
    step: "start" | "resend" | "code_instead",
    email: string,
    returnTo: string,
    send: (email: string, context: StartContext) => Promise<StartResult>,
  ): Promise<never> {
    const { adapter, pending: pendingStore, limits } = this.options;
    const info = this.#info(request);
    const pending = pendingStore.create({
      email,
      returnTo,
      ref: "",
      adapter: adapter.name,
      delivered: step === "code_instead" ? { link: false, code: true } : adapter.delivers,
    });
    const emailHash = hashEmail(email);
    // "Email me a code instead" follows the first email by seconds when a scanner used the
    // link; it skips the spacing between sends but not the hourly or per-IP budgets (S11).
    const skipSpacing = step === "code_instead";
    const decision = limits
      ? await guard(() => limits.allowSend(email, info.ip, { skipSpacing }))
      : { allowed: true as const };
    if (decision.allowed) {
      try {
        const result = await send(email, this.#context(request, pending));
        pending.ref = result.ref;
        pending.adapter = result.adapter;
        pending.delivered = result.delivered;
        this.#log({ step, outcome: "sent", adapter: result.adapter, emailHash, ip: info.ip });
      } catch (error) {
        const authError = toAuthError(error);
        this.#log({
          step,
          outcome: authError.code,
          adapter: adapter.name,
          emailHash,
          ip: info.ip,
          requestId: authError.requestId,
        });
        throw authError;
      }
    } else {
      this.#log({
        step,
        outcome: `throttled:${decision.reason}`,
        adapter: adapter.name,
        emailHash,
        ip: info.ip,
      });
      // Nothing was sent, so the browser keeps the sign-in it already has for this address:
      // the code from the last email must still work in this tab.
      const existing = await pendingStore.read(request);
      if (existing?.email === email) return this.#toCheckEmail({ ...existing, returnTo });
    }
    return this.#toCheckEmail(pending);
  }

  async #toCheckEmail(pending: PendingLogin): Promise<never> {
    throw redirect(this.options.checkEmailPath ?? "/login/check", {
      status: 303,
      headers: { "Set-Cookie": await this.options.pending.commit(pending) },
    });
  }

  async #requirePending(request: Request, step: AuthEvent["step"]): Promise<PendingLogin> {
    const pending = await this.options.pending.read(request);
    if (!pending) {
      this.#log({ step, outcome: "no_pending" });
      throw new AuthError("expired", "No sign-in is pending in this browser");
    }
    return pending;
  }

  async #verifyCode(request: Request, code: string): Promise<User> {
    const pending = await this.#requirePending(request, "code");
    // Digits only: people paste codes with spaces or dashes.
    const digits = code.replace(/[\s-]/g, "");
    if (!/^\d{6}$/.test(digits)) {
      this.#log({ step: "code", outcome: "invalid_input", emailHash: hashEmail(pending.email) });
      throw new AuthError("invalid_input", "A code is six digits");
    }
    return this.#verify(
      request,
      "code",
      { kind: "code", email: pending.email, code: digits },
      pending,
    );
  }

  async #callback(request: Request, code: string, state: string | null): Promise<User> {
    const stateId = this.options.pending.verifyState(state);
    if (!stateId || !code) {
      this.#log({ step: "callback", outcome: "invalid_state" });
      throw new AuthError("invalid", "The sign-in link is not valid");
    }
    const pending = await this.options.pending.read(request);
    // A callback in a browser that did not start this sign-in signs nobody in (S8).
    if (!pending || pending.id !== stateId) {
      this.#log({ step: "callback", outcome: "not_same_browser" });
      throw new AuthError("not_same_browser", "Started in another browser");
    }
    return this.#verify(request, "callback", { kind: "callback", code }, pending);
  }

  async #verify(
    request: Request,
    step: "code" | "link" | "callback",
    proof: Proof,
    known?: PendingLogin,
  ): Promise<User> {
    const pending = known ?? (await this.options.pending.read(request));
    const info = this.#info(request);
    if (!pending) {
      // The link was opened in another browser, a mail app's viewer or by a scanner: nothing
      // is consumed, and the person is told to use the code where they started (S8).
      this.#log({ step, outcome: "not_same_browser", ip: info.ip });
      throw new AuthError("not_same_browser", "No pending sign-in in this browser");
    }
    const emailHash = hashEmail(pending.email);
    const { limits, adapter } = this.options;
    if (limits) {
      const decision = await guard(() => limits.allowVerify(pending.email, info.ip));
      if (!decision.allowed) {
        const code = decision.reason === "locked" ? "too_many_attempts" : "rate_limited";
        this.#log({
          step,
          outcome: `throttled:${decision.reason}`,
          adapter: pending.adapter,
          emailHash,
          ip: info.ip,
        });
        throw new AuthError(code, "Too many attempts", { retryAfter: decision.retryAfterSeconds });
      }
    }
    let identity: Identity;
    try {
      identity = await adapter.verify(proof, {
        ...info,
        ref: pending.ref,
        adapter: pending.adapter,
        nonceHash: this.options.pending.nonceHash(pending),
      });
    } catch (error) {
      const authError = toAuthError(error);
      this.#log({
        step,
        outcome: authError.code,
        adapter: pending.adapter,
        emailHash,
        ip: info.ip,
        requestId: authError.requestId,
      });
      if (limits && COUNTS_AS_FAILURE.has(authError.code))
        await guard(() => limits.recordFailure(pending.email));
      throw authError;
    }
    if (identity.email.toLowerCase() !== pending.email) {
      // A provider that answers for another address than the one this browser asked for.
      this.#log({
        step,
        outcome: "email_mismatch",
        adapter: identity.adapter,
        emailHash,
        ip: info.ip,
      });
      throw new AuthError("invalid", "The proof belongs to another address");
    }
    if (limits) await guard(() => limits.recordSuccess(pending.email));
    this.#log({ step, outcome: "success", adapter: identity.adapter, emailHash, ip: info.ip });
    return this.verify({ identity, request, pending });
  }
}

const COUNTS_AS_FAILURE = new Set(["invalid", "expired", "used", "too_many_attempts"]);

function toAuthError(error: unknown): AuthError {
  if (isAuthError(error)) return error;
  return new AuthError("unavailable", "Sign-in failed unexpectedly", { cause: error });
}

/** Store failures inside the limits fail closed, as "unavailable" (a 503 page). */
async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toAuthError(error);
  }
}

export namespace EmailLinkStrategy {
  /** What the strategy needs from the abuse limits (see app/auth/limits.server.ts). */
  export interface Limits {
    allowSend(
      email: string,
      ip: string | undefined,
      options?: { skipSpacing?: boolean },
    ): Promise<LimitDecision>;
    allowVerify(email: string | undefined, ip: string | undefined): Promise<LimitDecision>;
    recordFailure(email: string): Promise<void>;
    recordSuccess(email: string): Promise<void>;
  }

  export type LimitDecision =
    | { allowed: true }
    | {
        allowed: false;
        retryAfterSeconds: number;
        reason: "email_spacing" | "email_hourly" | "ip" | "locked";
      };

  export interface Options {
    adapter: AuthAdapter;
    pending: PendingLoginStore;
    /** The configured public origin: every link and redirect URI is built from it (S15). */
    appOrigin: string;
    /** Where the start step redirects. */
    checkEmailPath?: string;
    limits?: Limits;
    /** The client's IP and user agent, as the app trusts them (TRUST_PROXY, S12). */
    requestInfo: (request: Request) => RequestInfo;
    log?: Logger;
  }

  export interface VerifyOptions {
    identity: Identity;
    request: Request;
    /** The pending sign-in the proof was verified against. */
    pending: PendingLogin;
  }
}
