/**
 * Headers of the sign-in pages. A route's `headers()` replaces its loader's and action's
 * headers on a document request, so the "wait N seconds" of a rate-limited answer is
 * carried over here, and nothing about a sign-in is cached (S23).
 */
export function signInPageHeaders(
  { loaderHeaders, actionHeaders }: { loaderHeaders: Headers; actionHeaders: Headers },
  extra: Record<string, string> = {},
): Headers {
  const headers = new Headers({ "Cache-Control": "no-store", ...extra });
  const retryAfter = actionHeaders.get("Retry-After") ?? loaderHeaders.get("Retry-After");
  if (retryAfter) headers.set("Retry-After", retryAfter);
  return headers;
}
