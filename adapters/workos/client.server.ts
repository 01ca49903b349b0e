/**
 * The configured WorkOS SDK, shared by the WorkOS adapters: base URL parsed from one
 * setting, a bounded timeout on every request, a small retry budget for answers that mean
 * "nothing was done", and every failure mapped to an AuthError with WorkOS's request id.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { WorkOS } from "@workos-inc/node";
import { AuthError } from "../errors";
import { mapWorkosError, type WorkosLogger, type WorkosOperation } from "./errors";

export interface WorkosClientOptions {
  /** `WORKOS_API_KEY`; also the `client_secret` of token exchanges. */
  apiKey: string;
  /** `WORKOS_CLIENT_ID`. */
  clientId: string;
  /** `WORKOS_API_URL`: scheme, host and optional port only, e.g. http://127.0.0.1:8787. */
  apiUrl?: string;
  /**
   * Limit for one whole call, ms, every retry and reading the body included
   * (`WORKOS_TIMEOUT_MS`, default 10 000).
   */
  timeoutMs?: number;
  /** Extra attempts after a network error or a 502/503 (default 2). */
  maxRetries?: number;
  /** First backoff, ms, doubled per retry (default 200). */
  retryDelayMs?: number;
  /** Where WorkOS failures are logged; defaults to one JSON line on stderr via console.warn. */
  log?: WorkosLogger;
  /** The fetch to wrap (tests may count calls); defaults to the global fetch. */
  fetch?: typeof fetch;
}

export interface WorkosClient {
  /** The SDK instance. Call it only inside {@link WorkosClient.call}, so failures are mapped. */
  readonly sdk: WorkOS;
  readonly clientId: string;
  /**
   * Run SDK calls; any failure comes out as an AuthError carrying WorkOS's request id, and
   * unknown failures are logged with it.
   */
  call<T>(operation: WorkosOperation, run: (sdk: WorkOS) => Promise<T>): Promise<T>;
}

/** The SDK's connection settings for a base URL; throws `misconfigured` for anything else. */
export function parseWorkosApiUrl(apiUrl: string): {
  apiHostname: string;
  https: boolean;
  port?: number;
} {
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new AuthError("misconfigured", `WORKOS_API_URL is not a URL: ${JSON.stringify(apiUrl)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new AuthError(
      "misconfigured",
      "WORKOS_API_URL must start with https:// (or http:// for a local emulator)",
    );
  }
  if (
    url.username ||
    url.password ||
    url.search ||
    url.hash ||
    // An http(s) URL's path is never empty: "/" when none was given.
    url.pathname !== "/"
  ) {
    // The SDK ignores any path, so a URL with one would silently reach the wrong place.
    throw new AuthError(
      "misconfigured",
      "WORKOS_API_URL must be an origin only, e.g. https://api.workos.com",
    );
  }
  return {
    apiHostname: url.hostname,
    https: url.protocol === "https:",
    port: url.port ? Number(url.port) : undefined,
  };
}

/** What one {@link WorkosClient.call} shares between its HTTP attempts. */
interface CallSlot {
  requestId?: string;
  /** Aborts every attempt once the call's whole budget (`WORKOS_TIMEOUT_MS`) is spent. */
  deadline: AbortSignal;
  endsAt: number;
}

/** Statuses that say the request was not processed, so a retry cannot act twice. */
const RETRY_STATUSES = new Set([502, 503]);

const defaultLog: WorkosLogger = (entry) => {
  console.warn(JSON.stringify({ time: new Date().toISOString(), ...entry }));
};

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
}

/**
 * Build the WorkOS client. Throws `misconfigured` with a clear message when a setting is
 * missing or malformed, so start-up stops instead of failing at the first sign-in.
 */
export function createWorkosClient(options: WorkosClientOptions): WorkosClient {
  const problems: string[] = [];
  if (!options.apiKey?.trim()) problems.push("WORKOS_API_KEY is missing");
  if (!options.clientId?.trim()) problems.push("WORKOS_CLIENT_ID is missing");
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxRetries = options.maxRetries ?? 2;
  const retryDelayMs = options.retryDelayMs ?? 200;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    problems.push("the WorkOS timeout must be a positive number of ms");
  if (!Number.isInteger(maxRetries) || maxRetries < 0)
    problems.push("the WorkOS retry count must be a whole number ≥ 0");
  if (problems.length > 0) throw new AuthError("misconfigured", problems.join("; "));
  const connection = parseWorkosApiUrl(options.apiUrl ?? "https://api.workos.com");
  const log = options.log ?? defaultLog;
  const baseFetch = options.fetch ?? globalThis.fetch;

  // The SDK reads the request id from the wrong place for most errors, so each call keeps
  // the last one it saw on the wire; AsyncLocalStorage keeps concurrent calls apart. The
  // slot also carries the call's one deadline, shared by every attempt.
  const calls = new AsyncLocalStorage<CallSlot>();

  const fetchFn: typeof fetch = async (input, init) => {
    const slot = calls.getStore();
    // Outside call() (never in our code) a request still gets its own deadline.
    const deadline = slot?.deadline ?? AbortSignal.timeout(timeoutMs);
    const endsAt = slot?.endsAt ?? Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const signal = init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
      const backoff = retryDelayMs * 2 ** attempt;
      // A retry is worth it only if it can still finish before the call's deadline.
      const canRetry = attempt < maxRetries && Date.now() + backoff < endsAt;
      try {
        const response = await baseFetch(input, { ...init, signal });
        if (slot) slot.requestId = response.headers.get("x-request-id") ?? slot.requestId;
        if (canRetry && RETRY_STATUSES.has(response.status)) {
          await response.body?.cancel();
        } else {
          return response;
        }
      } catch (error) {
        // A timeout may mean WorkOS acted but answered late, so it is not retried; the
        // person retries knowingly instead of waiting through several timeouts.
        if (isTimeout(error) || !canRetry) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, backoff));
    }
  };

  const sdk = new WorkOS(options.apiKey, {
    clientId: options.clientId,
    ...connection,
    fetchFn,
    // Since 10.8 the SDK retries 408/429/5xx itself, honouring Retry-After up to 60 s. That
    // would hold a sign-in page for a minute on a 429 (which must reach the person at once
    // as "try again in N seconds") and retry a 500 or a timeout after which WorkOS may have
    // acted (sent an email). Our fetchFn retries only what cannot have been processed.
    maxRetries: 0,
  });

  return {
    sdk,
    clientId: options.clientId,
    async call(operation, run) {
      const slot: CallSlot = {
        deadline: AbortSignal.timeout(timeoutMs),
        endsAt: Date.now() + timeoutMs,
      };
      try {
        return await calls.run(slot, () => run(sdk));
      } catch (error) {
        throw mapWorkosError(error, { operation, requestId: slot.requestId, log });
      }
    },
  };
}
