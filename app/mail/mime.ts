/**
 * The sign-in email as it goes over SMTP (RFC 5322 and MIME, RFC 2045–2047): headers, then
 * the text and HTML versions as multipart/alternative, both UTF-8 in quoted-printable. Built
 * here in one pass over two short strings rather than by a general mail composer, whose
 * stream pipeline per part cost more CPU than the rest of a sign-in start.
 *
 * Nothing from outside reaches a header unchecked: addresses are refused if they could
 * break out of their header (line breaks, angle brackets, spaces), display names and
 * subjects are quoted or encoded, and every line stays within the 998-character limit.
 */

/** A sender or recipient: the address, and the name an inbox shows for it. */
export interface Mailbox {
  name?: string;
  address: string;
}

export interface ComposedMessage {
  from: Mailbox;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** With its angle brackets: `<id@domain>`. */
  messageId: string;
  date: Date;
}

export class MimeError extends Error {
  override name = "MimeError";
}

/** local@domain, with nothing that could end the header or the angle brackets. */
const ADDRESS = /^[^\s<>()[\]\\,;:"@]+@[^\s<>()[\]\\,;:"@]+$/;

/**
 * MAIL_FROM's forms: `login@example.com`, `Sign in <login@example.com>` and
 * `"Sign in, Acme" <login@example.com>`. Anything else is refused (the configuration
 * reports it at start).
 */
export function parseMailbox(value: string): Mailbox {
  const trimmed = value.trim();
  const named = /^(.*?)\s*<([^<>]*)>$/.exec(trimmed);
  const address = (named ? named[2] : trimmed)?.trim() ?? "";
  if (!ADDRESS.test(address)) {
    throw new MimeError(`not an email address or "Name <address>": ${JSON.stringify(value)}`);
  }
  const raw = named?.[1]?.trim() ?? "";
  const name = /^"(.*)"$/.test(raw) ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw;
  return name ? { name, address } : { address };
}

/** The whole message, CRLF line endings, ready for SMTP DATA (which adds dot-stuffing). */
export function composeMessage(message: ComposedMessage): string {
  if (!ADDRESS.test(message.to)) throw new MimeError("the recipient is not a plain address");
  if (!/^<[^\s<>]+@[^\s<>]+>$/.test(message.messageId)) {
    throw new MimeError("the Message-ID is not <id@domain>");
  }
  const boundary = `=_pls_${message.messageId.slice(1, 17).replace(/[^A-Za-z0-9]/g, "")}`;
  // "=" never appears unencoded in quoted-printable, so no body line can equal the boundary.
  return [
    `From: ${formatMailbox(message.from)}`,
    `To: ${message.to}`,
    header("Subject", message.subject),
    `Date: ${formatDate(message.date)}`,
    `Message-ID: ${message.messageId}`,
    "MIME-Version: 1.0",
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    "",
    `--${boundary}`,
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    quotedPrintable(message.text),
    `--${boundary}`,
    "Content-Type: text/html; charset=utf-8",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    quotedPrintable(message.html),
    `--${boundary}--`,
    "",
  ].join("\r\n");
}

/** `Name <address>`, the name quoted when it holds specials and encoded when not ASCII. */
export function formatMailbox(mailbox: Mailbox): string {
  if (!ADDRESS.test(mailbox.address)) throw new MimeError("the sender is not a plain address");
  const name = oneLine(mailbox.name ?? "");
  const address = `<${mailbox.address}>`;
  if (!name) return mailbox.address;
  if (PRINTABLE_ASCII.test(name) && !name.includes("=?")) {
    const atoms = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/.test(name);
    const phrase = atoms ? name : `"${name.replace(/[\\"]/g, "\\$&")}"`;
    // "From: " and the name on one line when they fit; else encoded, which folds.
    if (6 + phrase.length + 1 + address.length <= 78) return `${phrase} ${address}`;
  }
  const words = encodedWords(name);
  // The line the address would end: "From: " and the one word, or the last folded word.
  const fold = words.lastIndexOf("\n");
  const lastLine = fold === -1 ? 6 + words.length : words.length - fold - 1;
  return lastLine + 1 + address.length <= 78 ? `${words} ${address}` : `${words}\r\n ${address}`;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Control characters (a line break above all) become spaces: a value is one header line. */
function oneLine(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
}

/** `Name: value` folded at spaces to lines of at most 78; encoded words when not ASCII. */
export function header(name: string, value: string): string {
  const text = oneLine(value);
  if (!PRINTABLE_ASCII.test(text) || text.includes("=?")) {
    return `${name}: ${encodedWords(text)}`;
  }
  const lines: string[] = [];
  let line = `${name}:`;
  for (const word of text.split(/ +/)) {
    if (line.length + 1 + word.length > 78 && line.length > name.length + 1) {
      lines.push(line);
      line = "";
    }
    line += ` ${word}`;
  }
  lines.push(line);
  // A single word longer than a line (no space to fold at) stays whole, up to the hard limit.
  if (lines.some((folded) => folded.length > 998)) return `${name}: ${encodedWords(text)}`;
  return lines.join("\r\n");
}

/**
 * RFC 2047 `=?UTF-8?B?…?=` words, one per folded line, each holding whole characters: 42
 * bytes at most, 56 base64 characters, a word of 68, so that even "Subject: " and the first
 * word stay within 78.
 */
export function encodedWords(text: string): string {
  const words: string[] = [];
  let chunk = "";
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > 42) {
      words.push(chunk);
      chunk = "";
      bytes = 0;
    }
    chunk += char;
    bytes += size;
  }
  if (chunk) words.push(chunk);
  return words
    .map((word) => `=?UTF-8?B?${Buffer.from(word, "utf8").toString("base64")}?=`)
    .join("\r\n ");
}

/**
 * RFC 2045 §6.7 quoted-printable of UTF-8 text: CRLF line breaks, lines of at most 76
 * characters (soft breaks end in "="), "=" and every byte outside printable ASCII escaped,
 * a space or tab at the end of a line escaped so no relay can strip it.
 */
export function quotedPrintable(text: string): string {
  const out: string[] = [];
  for (const line of text.replace(/\r\n?/g, "\n").split("\n")) {
    const bytes = Buffer.from(line, "utf8");
    let current = "";
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i] as number;
      const last = i === bytes.length - 1;
      const literal =
        (byte >= 33 && byte <= 126 && byte !== 61) || ((byte === 32 || byte === 9) && !last);
      const piece = literal ? String.fromCharCode(byte) : `=${HEX[byte]}`;
      // A soft break leaves room for its "=": at most 75 characters of content a line.
      if (current.length + piece.length > 75) {
        out.push(`${current}=`);
        current = "";
      }
      current += piece;
    }
    out.push(current);
  }
  return out.join("\r\n");
}

const HEX = Array.from({ length: 256 }, (_, byte) =>
  byte.toString(16).toUpperCase().padStart(2, "0"),
);

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** RFC 5322 §3.3 date-time in UTC: `Wed, 02 Dec 2026 14:02:00 +0000`. */
export function formatDate(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return (
    `${DAYS[date.getUTCDay()]}, ${two(date.getUTCDate())} ${MONTHS[date.getUTCMonth()]} ` +
    `${date.getUTCFullYear()} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:` +
    `${two(date.getUTCSeconds())} +0000`
  );
}
