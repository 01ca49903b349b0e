/**
 * Return paths are local (S16): only a same-origin path survives; anything that a browser
 * could read as another origin (`//x`, `/\x`, `\/x`, a scheme, encoded or control-character
 * variants) falls back to the default page.
 */
export const DEFAULT_RETURN_TO = "/dashboard";

export function safeReturnTo(value: unknown, fallback = DEFAULT_RETURN_TO): string {
  if (typeof value !== "string" || value.length > 1024) return fallback;
  // "" and "/\x" need no test of their own: "" does not start with "/", and the next check
  // refuses every backslash.
  if (!value.startsWith("/") || value.startsWith("//")) return fallback;
  // Control characters and backslashes anywhere, raw or percent-encoded, are refused: browsers
  // strip tabs and newlines and treat "\" as "/", which turns "/\t/evil" into "//evil".
  // Both raw and encoded forms are checked again after decoding below; refusing them here
  // first keeps the decoded check a second line, not the only one (docs/mutation.md).
  // Stryker disable next-line ConditionalExpression: equivalent, the decoded check refuses them too
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return fallback;
  // Stryker disable next-line ConditionalExpression,Regex: equivalent, the decoded check refuses them too
  if (/%(?:0[0-9a-f]|1[0-9a-f]|7f|5c)/i.test(value)) return fallback;
  let decoded: string;
  try {
    decoded = decodeURIComponent(value);
  } catch {
    return fallback;
  }
  if (decoded.startsWith("//") || /[\u0000-\u001f\u007f\\]/.test(decoded)) return fallback;
  // The final check: resolved against a dummy origin, it must stay on that origin.
  const base = "http://return-to.invalid";
  let url: URL;
  // Stryker disable BlockStatement: the catch is unreachable, a path starting with "/" always resolves
  try {
    url = new URL(value, base);
  } catch {
    return fallback;
  }
  // Stryker restore BlockStatement
  // Stryker disable next-line ConditionalExpression: equivalent, the checks above already keep the origin
  if (url.origin !== base) return fallback;
  // Dot segments can collapse into a scheme-relative path: "/.//evil.test" and
  // "/a/..//evil.test" resolve to the path "//evil.test", which a browser reads as a host.
  if (url.pathname.startsWith("//")) return fallback;
  // Never send a person back into the sign-in flow itself.
  if (
    url.pathname === "/login" ||
    url.pathname.startsWith("/login/") ||
    url.pathname.startsWith("/auth/")
  )
    return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}
