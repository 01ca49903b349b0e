const KEY = Symbol.for("passwordless-starter.client-address-header");

/**
 * The TCP peer's address, when the production server (server.js) passed it along in its
 * per-process secret header; undefined under other servers (the dev server, tests).
 */
export function socketAddress(request: Request): string | undefined {
  const name = (globalThis as Record<symbol, unknown>)[KEY];
  if (typeof name !== "string") return undefined;
  return request.headers.get(name) || undefined;
}
