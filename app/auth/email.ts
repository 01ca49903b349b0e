/**
 * One address, validated after normalising (S14). Peers shipped CVEs for comma-separated
 * lists, quoted local parts and full-width "@" that only became "@" after normalising, so
 * we normalise first (NFKC) and then accept only a plain dot-atom address.
 */
export type EmailResult =
  { ok: true; email: string } | { ok: false; reason: "empty" | "invalid" | "too_long" };

const LOCAL_PART = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export function normaliseEmail(input: unknown): EmailResult {
  if (typeof input !== "string") return { ok: false, reason: "empty" };
  const value = input.normalize("NFKC").trim();
  if (value === "") return { ok: false, reason: "empty" };
  if (value.length > 254) return { ok: false, reason: "too_long" };
  // Whitespace, control characters, commas, quotes, angle brackets: never part of one address.
  if (/[\s\p{Cc}\p{Cf},;"<>()[\]\\]/u.test(value)) return { ok: false, reason: "invalid" };
  const at = value.indexOf("@");
  // Exactly one "@" (an empty local part, "@b.com", fails LOCAL_PART below).
  if (at === -1 || at !== value.lastIndexOf("@")) return { ok: false, reason: "invalid" };
  // One person, one account: the whole address is compared lower-cased, as every major
  // mail provider treats the local part case-insensitively.
  const local = value.slice(0, at).toLowerCase();
  let domain = value.slice(at + 1).toLowerCase();
  if (local.length > 64 || !LOCAL_PART.test(local)) return { ok: false, reason: "invalid" };
  if (/[^\x21-\x7e]/.test(domain)) {
    // An internationalised domain: mail goes to its ASCII (punycode) form.
    // Stryker disable BlockStatement: an empty catch is equivalent, a domain left unconverted fails the label check
    try {
      domain = new URL(`http://${domain}`).hostname;
    } catch {
      return { ok: false, reason: "invalid" };
    }
  }
  // Stryker restore BlockStatement
  const labels = domain.split(".");
  if (labels.length < 2 || !labels.every((label) => DOMAIN_LABEL.test(label)))
    return { ok: false, reason: "invalid" };
  // (`?? ""` only satisfies the type checker: there are at least two labels here.)
  // Stryker disable next-line StringLiteral: unreachable
  if (!/^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/.test(labels[labels.length - 1] ?? ""))
    return { ok: false, reason: "invalid" };
  const email = `${local}@${domain}`;
  if (email.length > 254) return { ok: false, reason: "too_long" };
  return { ok: true, email };
}
