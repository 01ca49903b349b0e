import { redirect } from "react-router";
import { Strategy } from "remix-auth/strategy";
import { AuthError, isAuthError } from "../../adapters/errors";
import type {
  AuthAdapter,
  Identity,
  Proof,
  RequestInfo,
  SecondFactorStep,
  StartContext,
  StartResult,
} from "../../adapters/types";
import { randomId } from "../lib/crypto.server";
import { hashEmail, type AuthEvent, type Logger } from "../lib/log.server";
import type { MailTag } from "../mail/types";
import { normaliseEmail, type EmailResult } from "./email";
import { field, readForm } from "./form.server";
import type { PendingLogin, PendingLoginStore } from "./pending.server";
import { safeReturnTo } from "./return-to";
import type { SecondFactorPending, SecondFactorStore } from "./second-factor.server";

/**
 * The start step's refusal of what was typed as the address: `invalid_input`, with the
 * reason kept so that an empty field hears "Enter your email address" rather than "Check
 * what you typed". The other reasons share one wording: the page need not say how an
 * address failed.
 */
export class InvalidEmailError extends AuthError {
  constructor(readonly reason: Extract<EmailResult, { ok: false }>["reason"]) {
    super("invalid_input", `Not one email address: ${reason}`);
    this.name = "InvalidEmailError";
  }
}

/** True when the start step came with no address at all (a blank or missing field). */
export function isEmptyEmail(error: unknown): boolean {
  return error instanceof InvalidEmailError && error.reason === "empty";
}

/**
 * The one provider-neutral remix-auth strategy. Every step of an email sign-in goes through
 * `authenticate`, which tells the steps apart by method and form:
 *
 * - POST `email` (+ `returnTo`): start. Ends in a thrown 303 to the check-email page with
 *   a pending-login cookie, whatever the address (S13); except for an address whose domain
 *   the adapter signs in elsewhere (`redirectFor`, enterprise SSO): a 303 to the provider,
 *   with the same cookie. Saying "this domain uses SSO" is home realm discovery's known
 *   trade-off; whether the address exists is still never said.
 * - POST `intent=second-factor` with `code`: the second factor (MFA) of a sign-in whose
 *   first factor the provider accepted, from the sealed second-factor cookie.
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
    if (intent === "second-factor") return this.#secondFactor(request, field(form, "code"));
    if (form.has("token"))
      return this.#verify(request, "link", { kind: "link", token: field(form, "token") });
    if (form.has("state"))
      return this.#callback(request, field(form, "code"), field(form, "state"));
    if (form.has("code")) return this.#verifyCode(request, field(form, "code"));
    return this.#start(request, field(form, "email"), field(form, "returnTo"));
  }

  /** How long a start that sends takes, smoothed: what a throttled start waits out (S13). */
  #startMs = 0;

  #info(request: Request): RequestInfo {
    return this.options.requestInfo(request);
  }

  #log(event: AuthEvent): void {
    this.options.log?.(event);
  }

  #context(request: Request, pending: PendingLogin, mail?: MailTag): StartContext {
    const origin = this.options.appOrigin;
    return {
      ...this.#info(request),
      mail,
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
      throw new InvalidEmailError(normalised.reason);
    }
    await this.#redirectElsewhere(request, normalised.email, safeReturnTo(rawReturnTo));
    return this.#deliver(
      request,
      "start",
      normalised.email,
      safeReturnTo(rawReturnTo),
      (email, ctx) => this.options.adapter.start(email, ctx),
    );
  }

  /**
   * For an address the adapter signs in elsewhere (SSO by domain), throw the 303 to the
   * provider with a pending-login cookie whose id is the `state`, so only this browser can
   * finish at /auth/callback (S8). Nothing is sent, so no send budget is spent; a failed
   * lookup is the adapter's to absorb (it answers null), and anything it throws anyway
   * leaves the person with the email sign-in.
   */
  async #redirectElsewhere(request: Request, email: string, returnTo: string): Promise<void> {
    const { adapter, pending: pendingStore } = this.options;
    if (!adapter.redirectFor) return;
    const pending = pendingStore.create({
      email,
      returnTo,
      // Stryker disable next-line StringLiteral: equivalent, the provider's ref replaces it before the cookie is set
      ref: "",
      adapter: adapter.name,
      delivered: { link: false, code: false },
    });
    const info = this.#info(request);
    let target: Awaited<ReturnType<NonNullable<AuthAdapter["redirectFor"]>>>;
    try {
      target = await adapter.redirectFor(email, this.#context(request, pending));
    } catch (error) {
      this.#log({ step: "sso", outcome: `lookup_failed:${toAuthError(error).code}`, ip: info.ip });
      return;
    }
    if (!target) return;
    pending.ref = target.ref;
    pending.adapter = target.adapter;
    pending.match = target.match;
    this.#log({
      step: "sso",
      outcome: "redirect",
      adapter: target.adapter,
      emailHash: hashEmail(email),
      ip: info.ip,
    });
    throw redirect(target.url, {
      status: 303,
      headers: { "Set-Cookie": await pendingStore.commit(pending) },
    });
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
   * S13): the response never says whether mail went out. Sending means recording the
   * message in the mail queue; the relay is never waited for, so a throttled request is
   * held back only for the time a recorded one takes.
   */
  async #deliver(
    request: Request,
    step: "start" | "resend" | "code_instead",
    email: string,
    returnTo: string,
    send: (email: string, context: StartContext) => Promise<StartResult>,
  ): Promise<never> {
    const began = performance.now();
    const { adapter, pending: pendingStore, limits } = this.options;
    const info = this.#info(request);
    // "Email me a code instead" follows the first email by seconds when a scanner used the
    // link; it skips the spacing between sends but not the hourly or per-IP budgets (S11).
    const skipSpacing = step === "code_instead";
    // Names this email's delivery: only this browser's sealed cookie holds the id, so only
    // it can read how the delivery went (S32).
    const mail: MailTag = { id: randomId(), ip: info.ip, skipSpacing };
    const pending = pendingStore.create({
      email,
      returnTo,
      ref: "",
      adapter: adapter.name,
      // A code-instead sign-in either takes the adapter's answer (sent) or gives way to the one
      // this browser holds for the same address (throttled): this first value is never kept.
      // Stryker disable next-line StringLiteral,ObjectLiteral,BooleanLiteral: equivalent, see above
      delivered: step === "code_instead" ? { link: false, code: true } : adapter.delivers,
      mailId: mail.id,
    });
    const emailHash = hashEmail(email);
    const decision = limits
      ? await guard(() => limits.allowSend(email, info.ip, { skipSpacing }))
      : { allowed: true as const };
    if (decision.allowed) {
      mail.spent = decision.spent;
      try {
        const result = await send(email, this.#context(request, pending, mail));
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
        // Nothing went out: the budgets this request spent are given back (S32).
        if (limits?.refundSend) {
          await limits
            .refundSend(email, info.ip, { skipSpacing, spent: decision.spent })
            .catch(() => undefined);
        }
        throw authError;
      }
      const took = performance.now() - began;
      this.#startMs = this.#startMs === 0 ? took : this.#startMs * 0.9 + took * 0.1;
      return this.#toCheckEmail(pending);
    }
    this.#log({
      step,
      outcome: `throttled:${decision.reason}`,
      adapter: adapter.name,
      emailHash,
      ip: info.ip,
    });
    // As long as a start that sends takes (S13): the time of the answer does not tell
    // whether mail went out.
    const wait = Math.min(this.#startMs, 2_000) - (performance.now() - began);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    // Nothing was sent, so the browser keeps the sign-in it already has for this address:
    // the code from the last email must still work in this tab, and the page says when
    // that email went and when another may be asked for.
    const existing = await pendingStore.read(request);
    if (existing?.email === email) {
      const againAt = pendingStore.now() + decision.retryAfterSeconds * 1000;
      return this.#toCheckEmail({ ...existing, returnTo, againAt });
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
        email: pending.email,
      });
    } catch (error) {
      const authError = toAuthError(error);
      if (authError.code === "second_factor_required" && authError.secondFactor) {
        // The first factor was right: nothing to count; the second factor comes next.
        this.#log({
          step,
          outcome: `second_factor:${authError.secondFactor.kind}`,
          adapter: pending.adapter,
          emailHash,
          ip: info.ip,
        });
        return this.#toSecondFactor(pending, authError.secondFactor);
      }
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
    return this.#finish(request, step, identity, pending);
  }

  /**
   * The last check of every sign-in: the identity is for the address this browser asked
   * for (at its domain, for SSO), then the limits hear of the success.
   */
  async #finish(
    request: Request,
    step: "code" | "link" | "callback" | "second_factor",
    identity: Identity,
    pending: PendingLogin,
  ): Promise<User> {
    const info = this.#info(request);
    const emailHash = hashEmail(pending.email);
    const { limits } = this.options;
    if (!matches(identity.email, pending)) {
      // A provider that answers for another address than the one this browser asked for.
      this.#log({
        step,
        outcome: "email_mismatch",
        adapter: identity.adapter,
        emailHash,
        ip: info.ip,
      });
      // The provider opened a session for that other identity: end it, as nobody uses it.
      const { adapter } = this.options;
      if (identity.providerSession && adapter.endSession)
        adapter.endSession(identity.providerSession).catch(() => undefined);
      throw new AuthError("invalid", "The proof belongs to another address");
    }
    if (limits) await guard(() => limits.recordSuccess(pending.email));
    this.#log({ step, outcome: "success", adapter: identity.adapter, emailHash, ip: info.ip });
    return this.verify({ identity, request, pending });
  }

  /**
   * The 303 to the second-factor page: the step goes into its own sealed short-lived
   * cookie, and the pending-login cookie is cleared (its proof is spent).
   */
  async #toSecondFactor(pending: PendingLogin, step: SecondFactorStep): Promise<never> {
    const store = this.options.secondFactor;
    if (!store) throw new AuthError("misconfigured", "The provider asks for MFA; none is set up");
    const headers = new Headers();
    headers.append("Set-Cookie", await guard(() => store.begin(pending, step)));
    headers.append("Set-Cookie", await this.options.pending.clear());
    throw redirect(this.options.secondFactorPath ?? "/login/mfa", { status: 303, headers });
  }

  /**
   * The code from the person's authenticator app, for the step in the second-factor
   * cookie. Wrong codes count towards the same limits as wrong email codes (S10), and
   * five of them end the step.
   */
  async #secondFactor(request: Request, code: string): Promise<User> {
    const store = this.options.secondFactor;
    const step = store ? await store.read(request) : null;
    const info = this.#info(request);
    if (!store || !step) {
      this.#log({ step: "second_factor", outcome: "no_pending", ip: info.ip });
      throw new AuthError("expired", "No second factor is pending in this browser");
    }
    const emailHash = hashEmail(step.email);
    const { adapter, limits } = this.options;
    const digits = code.replace(/[\s-]/g, "");
    if (!/^\d{6}$/.test(digits)) {
      this.#log({ step: "second_factor", outcome: "invalid_input", emailHash });
      throw new AuthError("invalid_input", "A code is six digits");
    }
    if (limits) {
      const decision = await guard(() => limits.allowVerify(step.email, info.ip));
      if (!decision.allowed) {
        this.#log({
          step: "second_factor",
          outcome: `throttled:${decision.reason}`,
          adapter: step.adapter,
          emailHash,
          ip: info.ip,
        });
        throw new AuthError(
          decision.reason === "locked" ? "too_many_attempts" : "rate_limited",
          "Too many attempts",
          {
            retryAfter: decision.retryAfterSeconds,
          },
        );
      }
    }
    if ((await guard(() => store.failures(step))) >= store.maxFailures) {
      this.#log({ step: "second_factor", outcome: "too_many_attempts", emailHash, ip: info.ip });
      throw new AuthError("too_many_attempts", "Too many wrong codes");
    }
    let identity: Identity;
    try {
      if (!adapter.verifySecondFactor)
        throw new AuthError("misconfigured", "No second factor here");
      identity = await adapter.verifySecondFactor(step.state, digits, {
        ...info,
        adapter: step.adapter,
      });
    } catch (error) {
      const authError = toAuthError(error);
      this.#log({
        step: "second_factor",
        outcome: authError.code,
        adapter: step.adapter,
        emailHash,
        ip: info.ip,
        requestId: authError.requestId,
      });
      if (limits && COUNTS_AS_FAILURE.has(authError.code))
        await guard(() => limits.recordFailure(step.email));
      if (authError.code === "invalid") {
        const failures = await guard(() => store.recordFailure(step));
        if (failures >= store.maxFailures)
          throw new AuthError("too_many_attempts", "Too many wrong codes");
      }
      throw authError;
    }
    await guard(() => store.finish(step));
    return this.#finish(request, "second_factor", identity, asPendingLogin(step));
  }
}

/** Whether a verified address is the one this browser asked for (SSO: at its domain). */
function matches(verified: string, pending: Pick<PendingLogin, "email" | "match">): boolean {
  const got = verified.toLowerCase();
  if (pending.match !== "domain") return got === pending.email;
  const domain = (address: string) => address.slice(address.lastIndexOf("@") + 1);
  return got.includes("@") && domain(got) === domain(pending.email);
}

/** The second-factor step as the pending sign-in it continues (for the verify function). */
function asPendingLogin(step: SecondFactorPending): PendingLogin {
  return {
    id: step.id,
    email: step.email,
    nonce: "",
    ref: "",
    adapter: step.adapter,
    delivered: { link: false, code: false },
    returnTo: step.returnTo,
    expiresAt: step.expiresAt,
    sentAt: 0,
    ...(step.match ? { match: step.match } : {}),
  };
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
    /**
     * A send this request was allowed did not happen (the queue refused it, or its
     * delivery failed for good): give back what `allowSend` took.
     */
    refundSend?(
      email: string,
      ip: string | undefined,
      options?: { skipSpacing?: boolean; spent?: Record<string, number> },
    ): Promise<void>;
  }

  export type LimitDecision =
    | { allowed: true; spent?: Record<string, number> }
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
    /** Where a sign-in waits for its second factor (MFA); without it, MFA is `misconfigured`. */
    secondFactor?: SecondFactorStore;
    /** The second-factor page the verify steps redirect to (default "/login/mfa"). */
    secondFactorPath?: string;
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
