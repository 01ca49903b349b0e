/**
 * One place that turns whatever a WorkOS call throws into an {@link AuthError}: the SDK's
 * exception classes, network failures and timeouts. Nothing of the SDK (class, message,
 * raw body) crosses this boundary: the message is ours, the cause is not attached, and
 * only WorkOS's request id is kept for the logs.
 *
 * The SDK classes are recognised by their `name` and fields, not `instanceof`, so that a
 * second copy of the SDK (bundled and unbundled) maps the same way.
 */
import { AuthError, isAuthError, type AuthErrorCode } from "../errors";

/** What the adapter was doing: an unrecognised 4xx means bad input at start, a bad proof at verify. */
export type WorkosOperation = "start" | "verify" | "sign_out";

/** A structured log line about a WorkOS failure; never holds a code, link or message text. */
export interface WorkosFailureLog {
  event: "workos_failure";
  operation: WorkosOperation;
  /** What the failure became. */
  mappedTo: AuthErrorCode;
  /** WorkOS's `X-Request-ID`, to quote to WorkOS support. */
  requestId?: string;
  status?: number;
  /** The SDK exception's class name, or the network error's name/code. */
  kind?: string;
  /** WorkOS's error code (`error` or `code` in the body), e.g. "invalid_client". */
  providerCode?: string;
}

export type WorkosLogger = (entry: WorkosFailureLog) => void;

export interface MapWorkosErrorContext {
  operation: WorkosOperation;
  /** The request id seen on the wire (the SDK loses it for most errors). */
  requestId?: string;
  /** Receives unknown and operator-relevant failures (unavailable, misconfigured). */
  log?: WorkosLogger;
}

/** Seconds to wait when a 429 carries no usable `Retry-After`. */
const DEFAULT_RETRY_AFTER = 60;

const ONE_TIME_CODE_ERRORS: Record<string, AuthErrorCode> = {
  invalid_one_time_code: "invalid",
  one_time_code_previously_used: "used",
  one_time_code_expired: "expired",
  one_time_code_too_many_attempts: "too_many_attempts",
  // The second-factor step: a pending authentication token lives ten minutes and works
  // once, so an unknown one means "start again", as an expired code does.
  invalid_pending_authentication_token: "expired",
  authentication_challenge_expired: "expired",
  authentication_challenge_invalid: "invalid",
};

const MESSAGES: Record<AuthErrorCode, string> = {
  invalid_input: "WorkOS refused the request as invalid",
  invalid: "The sign-in link or code is not valid",
  expired: "The sign-in link or code has expired",
  used: "The sign-in link or code was already used",
  too_many_attempts: "Too many wrong codes",
  rate_limited: "WorkOS asked us to slow down",
  unavailable: "WorkOS is unavailable",
  misconfigured: "WorkOS rejected the app's credentials or settings",
  not_same_browser: "Confirmed from another browser",
  // The app's own refusals after a verified sign-in; no WorkOS answer maps to these.
  sign_up_closed: "No account for this address and sign-up is closed",
  account_exists: "The address belongs to an account that signs in another way",
  second_factor_required: "WorkOS asks for a second factor",
};

/**
 * What an `invalid_grant` or `access_denied` description says happened. WorkOS words it
 * for people ("has expired or is invalid"), so this is a best reading: "used" when it says
 * so, "invalid" when it says only that, and otherwise "expired".
 */
export function classifyDescription(
  description: string | undefined,
): "used" | "expired" | "invalid" {
  // Stryker disable next-line StringLiteral: any text without the words below reads "expired" too.
  const text = (description ?? "").toLowerCase();
  if (/\b(used|redeemed|consumed)\b/.test(text)) return "used";
  if (text.includes("expired")) return "expired";
  if (/\b(invalid|not found|unknown)\b/.test(text)) return "invalid";
  return "expired";
}

function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

const text = (value: unknown) => (typeof value === "string" && value ? value : undefined);
const num = (value: unknown) =>
  typeof value === "number" && Number.isFinite(value) ? value : undefined;

/** The network-level reason under an SDK wrapper: "TimeoutError", "ECONNREFUSED", … */
function rootKind(error: unknown): string | undefined {
  let current: unknown = error;
  let kind: string | undefined;
  for (let depth = 0; depth < 5 && current; depth++) {
    kind = text(field(current, "code")) ?? text(field(current, "name")) ?? kind;
    current = field(current, "cause");
  }
  return kind;
}

/**
 * Map anything a WorkOS call threw to an AuthError (an AuthError passes through unchanged).
 *
 * | WorkOS answer | AuthError |
 * |---|---|
 * | 400 `invalid_grant` / callback `access_denied` | `used`, `expired` or `invalid` from the description |
 * | 400 `invalid_one_time_code` / `one_time_code_previously_used` / `one_time_code_expired` / `one_time_code_too_many_attempts` | `invalid` / `used` / `expired` / `too_many_attempts` |
 * | 400/401 `invalid_client`, `unauthorized_client`; 401; 403 | `misconfigured` |
 * | 429 (+ `Retry-After`) | `rate_limited` with `retryAfter` (seconds) |
 * | 5xx, 404, 409, non-JSON, network error, timeout, anything else | `unavailable` |
 * | other 400 / 422 | `invalid_input` at start, `invalid` at verify |
 */
export function mapWorkosError(error: unknown, context: MapWorkosErrorContext): AuthError {
  if (isAuthError(error)) return error;
  const name = text(field(error, "name"));
  const status = num(field(error, "rawStatus")) ?? num(field(error, "status"));
  const requestId = context.requestId ?? text(field(error, "requestID"));
  const rawData = field(error, "rawData");
  const oauthError = text(field(error, "error")) ?? text(field(rawData, "error"));
  const providerCode = text(field(error, "code")) ?? text(field(rawData, "code")) ?? oauthError;

  const make = (code: AuthErrorCode, logIt: boolean, retryAfter?: number): AuthError => {
    if (logIt) {
      context.log?.({
        event: "workos_failure",
        operation: context.operation,
        mappedTo: code,
        requestId,
        status,
        kind: name === "Error" || !name ? rootKind(error) : name,
        providerCode,
      });
    }
    return new AuthError(code, MESSAGES[code], { requestId, retryAfter });
  };

  if (name === "RateLimitExceededException" || status === 429) {
    const retryAfter = num(field(error, "retryAfter"));
    return make(
      "rate_limited",
      false,
      retryAfter !== undefined && retryAfter >= 0 ? Math.ceil(retryAfter) : DEFAULT_RETRY_AFTER,
    );
  }
  // The SDK reports its own timeout as a 408 "OauthException"; a 5xx may carry an OAuth body.
  if (name === "ParseError" || status === 408 || (status !== undefined && status >= 500)) {
    return make("unavailable", true);
  }
  if (oauthError === "invalid_grant" || oauthError === "access_denied") {
    const description =
      text(field(error, "errorDescription")) ?? text(field(rawData, "error_description"));
    return make(classifyDescription(description), false);
  }
  if (providerCode && providerCode in ONE_TIME_CODE_ERRORS) {
    return make(ONE_TIME_CODE_ERRORS[providerCode] as AuthErrorCode, false);
  }
  if (
    name === "UnauthorizedException" ||
    name === "ApiKeyRequiredException" ||
    name === "NoApiKeyProvidedException" ||
    status === 401 ||
    status === 403 ||
    // As an OAuth `error` or as a User Management `code`: a wrong client id is ours.
    providerCode === "invalid_client" ||
    providerCode === "unauthorized_client"
  ) {
    return make("misconfigured", true);
  }
  if (status === 400 || status === 422) {
    return make(context.operation === "start" ? "invalid_input" : "invalid", true);
  }
  // 404 (the feature is off or the path is wrong), 409, network errors, our timeout, bugs.
  return make("unavailable", true);
}

/**
 * The `?error=&error_description=` WorkOS appends to the redirect URI when a Magic Link is
 * expired or already used, as an AuthError (`used`, `expired`, or `invalid`). Returns
 * undefined when the query carries no `error`.
 */
export function callbackErrorToAuthError(
  params: URLSearchParams | { error?: string | null; error_description?: string | null },
): AuthError | undefined {
  const get = (key: "error" | "error_description") =>
    params instanceof URLSearchParams ? params.get(key) : params[key];
  const error = get("error");
  if (!error) return undefined;
  if (error === "access_denied" || error === "invalid_grant") {
    const code = classifyDescription(get("error_description") ?? undefined);
    return new AuthError(code, MESSAGES[code]);
  }
  // Anything else WorkOS might send back is not the person's doing and not retryable by them.
  return new AuthError("invalid", MESSAGES.invalid);
}
