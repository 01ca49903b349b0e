/**
 * The URL of the page a request is for, as the person sees it in the address bar.
 *
 * Since React Router 8 a loader or action receives the raw request: a client-side
 * navigation fetches `/dashboard.data?_routes=…` (`/_.data` for `/`, `/a/_.data` for `/a/`)
 * and an index route's action carries `?index`. Anything built from the request URL — a
 * return path above all — must use this normalised form, or a person would be sent back
 * to a `.data` URL after signing in. (Route modules also get it as the `url` argument;
 * helpers that only see the Request use this.)
 */
export function pageUrl(request: Request): URL {
  const url = new URL(request.url);
  if (url.pathname.endsWith("/_.data")) {
    url.pathname = url.pathname.slice(0, -"_.data".length);
  } else if (url.pathname.endsWith(".data")) {
    url.pathname = url.pathname.slice(0, -".data".length) || "/";
  }
  url.searchParams.delete("_routes");
  if (url.searchParams.get("index") === "") url.searchParams.delete("index");
  return url;
}
