import { createContext, type MiddlewareFunction } from "react-router";
import { requestNonce } from "../lib/crypto.server";
import { getServices } from "../services.server";
import { readSession } from "./flow.server";
import { inRequestScope } from "./session.server";

/** The per-request CSP nonce, for React Router's inline scripts. */
export const nonceContext = createContext<string>("");

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Cross-site protection in one place (S25): a state-changing request must come from our
 * own origin. Browsers send `Origin` with every POST; `Sec-Fetch-Site` is the fallback.
 * A request with neither (curl, a server) is allowed: it carries no victim's cookies.
 */
export function isCrossSite(request: Request, appOrigin: string): boolean {
  if (SAFE_METHODS.has(request.method)) return false;
  const origin = request.headers.get("Origin");
  if (origin !== null) return origin !== appOrigin;
  const site = request.headers.get("Sec-Fetch-Site");
  if (site !== null) return site !== "same-origin" && site !== "none";
  return false;
}

/**
 * Runs around every loader and action: refuses cross-site writes (S25), reads the session
 * once, sends its rolled cookie (S21), and keeps every response that touches a session
 * out of caches (S23).
 */
export const authMiddleware: MiddlewareFunction<Response> = async ({ request, context }, next) => {
  const services = getServices();
  if (isCrossSite(request, services.config.appOrigin)) {
    const { appOrigin, production } = services.config;
    const opened = new URL(request.url).origin;
    // In development the usual cause is opening 127.0.0.1 while APP_ORIGIN says localhost
    // (or the other way round): say where to go. Production says no more than "refused".
    const hint =
      !production && opened !== appOrigin
        ? ` This page was opened at ${opened}, but the app runs at ${appOrigin} (APP_ORIGIN): open ${appOrigin} instead.`
        : "";
    return new Response(`Cross-site request refused.${hint}`, {
      status: 403,
      headers: { "Content-Type": "text/plain; charset=utf-8" },
    });
  }
  context.set(nonceContext, requestNonce());
  // One session read (and one user record read beside it) for the whole request, whichever
  // route modules ask for them.
  return inRequestScope(async () => {
    const hasCookie = (request.headers.get("Cookie") ?? "").includes(
      `${services.sessions.cookieName}=`,
    );
    const read = hasCookie ? await readSession(request) : undefined;
    const response = await next();
    const sets = response.headers.getSetCookie();
    const setsSession = sets.some((cookie) =>
      cookie.startsWith(`${services.sessions.cookieName}=`),
    );
    if (read?.setCookie && !setsSession) {
      response.headers.append("Set-Cookie", read.setCookie);
    }
    if (hasCookie || response.headers.has("Set-Cookie")) {
      response.headers.set("Cache-Control", "no-store");
    }
    return response;
  });
};
