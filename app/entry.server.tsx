import { PassThrough } from "node:stream";
import { createReadableStreamFromReadable } from "@react-router/node";
import { isbot } from "isbot";
import type { RenderToPipeableStreamOptions } from "react-dom/server";
import { renderToPipeableStream } from "react-dom/server";
import {
  isRouteErrorResponse,
  ServerRouter,
  type EntryContext,
  type HandleErrorFunction,
  type RouterContextProvider,
} from "react-router";
import { nonceContext } from "./auth/middleware.server";
import { ConfigError, type Config } from "./config.server";
import { getServices } from "./services.server";
import { DatabaseOpenError } from "./store/sqlite/database.server";

// Fail at start, not at the first request: a production server with a missing or malformed
// variable prints every problem and exits before it listens.
if (process.env.NODE_ENV === "production") {
  try {
    getServices();
  } catch (error) {
    // A bad variable, or a DATA_DIR the server cannot write: say so and stop, no stack trace.
    if (
      error instanceof Error &&
      (error.name === ConfigError.name || error.name === DatabaseOpenError.name)
    ) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}

export const streamTimeout = 5_000;

/** The health check, for server.js to answer /healthz ahead of React Router. */
export { checkHealth } from "./lib/health.server";

/**
 * Headers for every response, not only pages: `.data`, resource routes such as /healthz,
 * static files and Express's own error pages (server.js sets them from this list for
 * everything it answers). No MIME sniffing; no window of another origin may hold a
 * reference to ours or embed our resources; every browser feature the app does not use is
 * denied, and WebAuthn is allowed for this origin only (passkeys).
 */
export const RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  "X-Content-Type-Options": "nosniff",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Permissions-Policy": [
    "accelerometer=()",
    "camera=()",
    "display-capture=()",
    "geolocation=()",
    "gyroscope=()",
    "magnetometer=()",
    "microphone=()",
    "payment=()",
    "usb=()",
    "publickey-credentials-get=(self)",
    "publickey-credentials-create=(self)",
  ].join(", "),
};

function setResponseHeaders(headers: Headers): void {
  for (const [name, value] of Object.entries(RESPONSE_HEADERS)) headers.set(name, value);
}

/** Single-fetch `.data` answers get the same headers as pages. */
export function handleDataRequest(response: Response): Response {
  setResponseHeaders(response.headers);
  return response;
}

/**
 * Server-side errors go to the log; a client's mistake answered with a 4xx (a POST to a page
 * without an action, a 405 or 404 from the router) is not an error of ours, and logging a
 * stack trace for each would let any scanner flood the log (S26, S28).
 */
export const handleError: HandleErrorFunction = (error, { request }) => {
  if (request.signal.aborted) return;
  if (isRouteErrorResponse(error) && error.status < 500) return;
  const inner = isRouteErrorResponse(error) ? (error as { error?: unknown }).error : undefined;
  console.error(inner ?? error);
};

export default function handleRequest(
  request: Request,
  responseStatusCode: number,
  responseHeaders: Headers,
  routerContext: EntryContext,
  loadContext: RouterContextProvider,
) {
  const nonce = loadContext.get(nonceContext);
  setDocumentHeaders(responseHeaders, nonce);

  if (request.method.toUpperCase() === "HEAD") {
    return new Response(null, { status: responseStatusCode, headers: responseHeaders });
  }

  return new Promise((resolve, reject) => {
    let shellRendered = false;
    const userAgent = request.headers.get("user-agent");
    const readyOption: keyof RenderToPipeableStreamOptions =
      (userAgent && isbot(userAgent)) || routerContext.isSpaMode ? "onAllReady" : "onShellReady";
    let timeoutId: ReturnType<typeof setTimeout> | undefined = setTimeout(
      () => abort(),
      streamTimeout + 1000,
    );

    const { pipe, abort } = renderToPipeableStream(
      <ServerRouter context={routerContext} url={request.url} nonce={nonce} />,
      {
        nonce,
        [readyOption]() {
          shellRendered = true;
          const body = new PassThrough({
            final(callback) {
              clearTimeout(timeoutId);
              timeoutId = undefined;
              callback();
            },
          });
          const stream = createReadableStreamFromReadable(body);
          responseHeaders.set("Content-Type", "text/html; charset=utf-8");
          pipe(body);
          resolve(new Response(stream, { headers: responseHeaders, status: responseStatusCode }));
        },
        onShellError(error: unknown) {
          reject(error);
        },
        onError(error: unknown) {
          responseStatusCode = 500;
          if (shellRendered) console.error(error);
        },
      },
    );
  });
}

/**
 * Security headers for every HTML page: a nonce-based CSP (React Router's inline scripts
 * carry the nonce), no framing, the headers of every response, and HSTS over https.
 */
function setDocumentHeaders(headers: Headers, nonce: string) {
  const { config } = getServices();
  const csp = policyAround(config);
  headers.set("Content-Security-Policy", `${csp.before}${nonce}${csp.after}`);
  setResponseHeaders(headers);
  headers.set("X-Frame-Options", "DENY");
  if (!headers.has("Referrer-Policy")) headers.set("Referrer-Policy", "same-origin");
  if (config.secure)
    headers.set("Strict-Transport-Security", "max-age=63072000; includeSubDomains");
}

/**
 * Where the sign-in form's 303 may lead besides this origin: with enterprise SSO, POST
 * /login answers with a redirect to WorkOS, and browsers apply `form-action` to the
 * redirects of a form submission too (without JavaScript the form itself is submitted).
 */
function ssoOrigin(config: Config): string {
  const values = config.adapterVariables as Record<string, unknown>;
  const domains = values.WORKOS_SSO_DOMAINS;
  const sso =
    values.WORKOS_SSO_LOOKUP === true ||
    (typeof domains === "object" && domains !== null && Object.keys(domains).length > 0);
  const api = values.WORKOS_API_URL;
  return sso && typeof api === "string" && URL.canParse(api) ? ` ${new URL(api).origin}` : "";
}

/** The policy before and after the nonce, built once per configuration, not per page. */
const policies = new WeakMap<Config, { before: string; after: string }>();

function policyAround(config: Config): { before: string; after: string } {
  let parts = policies.get(config);
  if (!parts) {
    const dev = !config.production;
    const [before = "", after = ""] = [
      "default-src 'self'",
      `script-src 'self' 'nonce-{nonce}'${dev ? " 'unsafe-eval'" : ""}`,
      `style-src 'self'${dev ? " 'unsafe-inline'" : ""}`,
      "img-src 'self' data:",
      `connect-src 'self'${dev ? " ws: wss:" : ""}`,
      `form-action 'self'${ssoOrigin(config)}`,
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "object-src 'none'",
    ]
      .join("; ")
      .split("{nonce}");
    parts = { before, after };
    policies.set(config, parts);
  }
  return parts;
}
