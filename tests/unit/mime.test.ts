/**
 * The sign-in email's MIME (app/mail/mime.ts), read back by an independent parser
 * (postal-mime): what an inbox shows is what was composed, whatever the name, subject and
 * body hold, and nothing from outside can add a header.
 */
import fc from "fast-check";
import PostalMime from "postal-mime";
import { describe, expect, it } from "vitest";
import {
  composeMessage,
  encodedWords,
  formatDate,
  header,
  MimeError,
  parseMailbox,
  quotedPrintable,
  type ComposedMessage,
} from "../../app/mail/mime";
import { renderSignInEmail } from "../../app/mail/template";

const base: ComposedMessage = {
  from: { name: "Passwordless Starter", address: "login@example.com" },
  to: "ada@example.com",
  subject: "Sign in to Passwordless Starter",
  text: "Enter this code:\n246810\n",
  html: "<p>Enter this code: <strong>246810</strong></p>",
  messageId: "<0123456789abcdef0123456789abcdef@example.com>",
  date: new Date(Date.UTC(2026, 11, 2, 14, 2, 5)),
};

/**
 * Parsed by postal-mime, which ends each text part with the line break before its boundary
 * (nodemailer's messages read the same): that one line break is taken off again.
 */
async function parse(raw: string) {
  const parsed = await PostalMime.parse(raw);
  const body = (value: string | undefined) => value?.replace(/\r\n/g, "\n").replace(/\n$/, "");
  return { ...parsed, text: body(parsed.text), html: body(parsed.html) };
}
/** What the message's lines are, each without its CRLF. */
const linesOf = (raw: string) => raw.split("\r\n");

describe("a composed message, as an inbox reads it", () => {
  it("has the sender, recipient, subject, date, id and both bodies", async () => {
    const email = renderSignInEmail({
      to: "ada@example.com",
      appName: "Passwordless Starter",
      link: `http://localhost:5173/auth/link?token=${"t".repeat(43)}`,
      code: "246810",
      expiresInMinutes: 15,
    });
    const raw = composeMessage({
      ...base,
      subject: email.subject,
      text: email.text,
      html: email.html,
    });
    const parsed = await parse(raw);
    expect(parsed.from).toEqual({ name: "Passwordless Starter", address: "login@example.com" });
    expect(parsed.to).toEqual([{ name: "", address: "ada@example.com" }]);
    expect(parsed.subject).toBe("Sign in to Passwordless Starter");
    expect(parsed.messageId).toBe(base.messageId);
    expect(new Date(parsed.date ?? "").getTime()).toBe(base.date.getTime());
    expect(parsed.text).toBe(email.text);
    expect(parsed.html).toBe(email.html);
    expect(raw).toMatch(/\r\nMIME-Version: 1\.0\r\n/);
    expect(raw).toMatch(/\r\nContent-Type: multipart\/alternative; boundary="=_pls_[0-9a-f]+"\r\n/);
  });

  it("keeps any name, subject and body whole: quoted, encoded and wrapped, every line within 78", async () => {
    const text = fc.string({ unit: "binary", maxLength: 300 });
    await fc.assert(
      fc.asyncProperty(text, text, text, text, async (name, subject, body, html) => {
        const raw = composeMessage({
          ...base,
          from: { ...base.from, name },
          subject,
          text: body,
          html,
        });
        for (const line of linesOf(raw)) {
          expect(line.length).toBeLessThanOrEqual(78);
          expect(line).toMatch(/^[\t\x20-\x7e]*$/);
        }
        const parsed = await parse(raw);
        // A header is one line: control characters (line breaks too) become one space.
        const oneLine = (value: string) => value.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
        expect(parsed.from?.name ?? "").toBe(oneLine(name));
        expect(parsed.from?.address).toBe("login@example.com");
        expect(parsed.subject ?? "").toBe(oneLine(subject).replace(/ +/g, " "));
        // Only line endings are the receiver's choice.
        const lines = (value: string) => value.replace(/\r\n?/g, "\n");
        expect(parsed.text ?? "").toBe(lines(body));
        expect(parsed.html ?? "").toBe(lines(html));
      }),
      { numRuns: 300 },
    );
  });

  it("a line break in a name or subject cannot start a header of its own", async () => {
    const raw = composeMessage({
      ...base,
      from: { name: "Acme\r\nBcc: victim@example.org", address: "login@example.com" },
      subject: "Hi\r\nBcc: victim@example.org\nX-Evil: 1",
    });
    const heads = linesOf(raw.slice(0, raw.indexOf("\r\n\r\n")));
    expect(heads.filter((line) => /^(Bcc|X-Evil):/i.test(line))).toEqual([]);
    const parsed = await parse(raw);
    expect(parsed.bcc).toBeUndefined();
    expect(parsed.headers.map((h) => h.key)).not.toContain("x-evil");
    expect(parsed.subject).toBe("Hi Bcc: victim@example.org X-Evil: 1");
  });

  it("refuses a recipient or Message-ID that could end its header", () => {
    for (const to of [
      "ada@example.com\r\nBcc: x@example.org",
      "a da@example.com",
      "<ada@example.com>",
      "ada",
      "ada@x@y",
    ]) {
      expect(() => composeMessage({ ...base, to })).toThrow(MimeError);
    }
    expect(() => composeMessage({ ...base, from: { address: "login@example.com>" } })).toThrow(
      MimeError,
    );
    for (const messageId of ["<a b@example.com>", "a@example.com", "<a@example.com>\r\nX: 1"]) {
      expect(() => composeMessage({ ...base, messageId })).toThrow(MimeError);
    }
  });

  it("no body line can be taken for the boundary", () => {
    const boundary = /boundary="([^"]+)"/.exec(composeMessage(base))?.[1] as string;
    // Even a body that holds the boundary itself: its "=" is escaped.
    const raw = composeMessage({
      ...base,
      text: `--${boundary}\n--${boundary}--`,
      html: `--${boundary}`,
    });
    expect(linesOf(raw).filter((line) => line.startsWith(`--${boundary}`))).toEqual([
      `--${boundary}`,
      `--${boundary}`,
      `--${boundary}--`,
    ]);
  });
});

describe("its parts", () => {
  it("quoted-printable: escapes =, 8-bit and a space or tab ending a line; soft breaks at 76", () => {
    expect(quotedPrintable("a=b")).toBe("a=3Db");
    expect(quotedPrintable("café")).toBe("caf=C3=A9");
    expect(quotedPrintable("end \nmid dle\t")).toBe("end=20\r\nmid dle=09");
    const long = quotedPrintable("x".repeat(200));
    expect(long.split("\r\n").map((line) => line.length)).toEqual([76, 76, 50]);
    expect(long.replace(/=\r\n/g, "")).toBe("x".repeat(200));
    // An escape is never split by a soft break.
    const escapes = quotedPrintable("é".repeat(60));
    for (const line of escapes.split("\r\n")) expect(line).toMatch(/^(=[0-9A-F]{2})*=?$/);
  });

  it("encoded words: whole characters, at most 75 each, one per folded line", () => {
    const words = encodedWords("😀".repeat(30)).split("\r\n ");
    expect(words).toHaveLength(3);
    for (const word of words) {
      expect(word.length).toBeLessThanOrEqual(75);
      const inner = /^=\?UTF-8\?B\?([A-Za-z0-9+/=]+)\?=$/.exec(word)?.[1] as string;
      expect(Buffer.from(inner, "base64").toString("utf8")).toMatch(/^(😀)+$/u);
    }
  });

  it("a long ASCII header folds at spaces; a word too long for any line is encoded", () => {
    const folded = header("Subject", "word ".repeat(40).trim());
    expect(folded.split("\r\n").map((line) => line.length <= 78)).not.toContain(false);
    expect(folded.replace(/\r\n/g, "")).toBe(`Subject: ${"word ".repeat(40).trim()}`);
    expect(header("Subject", "x".repeat(1200))).toMatch(/^Subject: =\?UTF-8\?B\?/);
    // "=?" in plain text would be read as an encoded word: it is encoded itself.
    expect(header("Subject", "=?UTF-8?B?SGk=?=")).toMatch(
      /^Subject: =\?UTF-8\?B\?PT9VVEYtOD9CP1NHaz0/,
    );
  });

  it("dates are RFC 5322, in UTC", () => {
    expect(formatDate(new Date(Date.UTC(2026, 0, 5, 3, 4, 5)))).toBe(
      "Mon, 05 Jan 2026 03:04:05 +0000",
    );
    expect(formatDate(base.date)).toBe("Wed, 02 Dec 2026 14:02:05 +0000");
  });

  it("MAIL_FROM: a bare address, Name <address> or a quoted name; nothing else", () => {
    expect(parseMailbox(" login@example.com ")).toEqual({ address: "login@example.com" });
    expect(parseMailbox("Sign in <login@example.com>")).toEqual({
      name: "Sign in",
      address: "login@example.com",
    });
    expect(parseMailbox('"Acme, \\"Ltd\\"" <login@example.com>')).toEqual({
      name: 'Acme, "Ltd"',
      address: "login@example.com",
    });
    for (const bad of [
      "",
      "Sign in",
      "<>",
      "a@b, c@d",
      "Name <a@b> extra",
      "login@example.com\r\nBcc: x@y",
    ]) {
      expect(() => parseMailbox(bad), bad).toThrow(MimeError);
    }
  });

  it("a name is left as it is when it needs nothing, quoted when it has specials", () => {
    const fromLine = (name: string) =>
      linesOf(composeMessage({ ...base, from: { name, address: "login@example.com" } }))[0];
    expect(fromLine("Acme Sign-in")).toBe("From: Acme Sign-in <login@example.com>");
    expect(fromLine("Acme, Inc.")).toBe('From: "Acme, Inc." <login@example.com>');
    expect(fromLine('Say "hi" \\o/')).toBe('From: "Say \\"hi\\" \\\\o/" <login@example.com>');
    expect(fromLine("Café")).toBe("From: =?UTF-8?B?Q2Fmw6k=?= <login@example.com>");
    expect(fromLine("")).toBe("From: login@example.com");
    const nameless = composeMessage({ ...base, from: { address: "login@example.com" } });
    expect(linesOf(nameless)[0]).toBe("From: login@example.com");
  });
});

describe("at its limits", () => {
  const fromLines = (name: string, address = "login@example.com") =>
    linesOf(composeMessage({ ...base, from: { name, address } })).slice(0, 2);

  it("a plain name shares the From line with the address up to 78 characters, then is encoded", () => {
    expect(fromLines("a".repeat(52))).toEqual([
      `From: ${"a".repeat(52)} <login@example.com>`,
      "To: ada@example.com",
    ]);
    expect(fromLines("a".repeat(52))[0]).toHaveLength(78);
    const [first, second] = fromLines("a".repeat(53));
    expect(first).toMatch(/^From: =\?UTF-8\?B\?[^ ]+\?=$/);
    expect(second).toMatch(/^ =\?UTF-8\?B\?[^ ]+\?= <login@example\.com>$/);
  });

  it("an encoded name keeps the address on its line exactly when the line stays within 78", () => {
    // 28 bytes: one word of 52 characters, "From: " and " <…>" around it.
    const name = "é".repeat(14);
    const word = encodedWords(name);
    expect(word).toHaveLength(52);
    expect(fromLines(name, "login@example.co")[0]).toBe(`From: ${word} <login@example.co>`);
    expect(fromLines(name, "login@example.com")[0]).toBe(`From: ${word} <login@example.com>`);
    expect(fromLines(name, "login@example.comm")).toEqual([
      `From: ${word}`,
      " <login@example.comm>",
    ]);
    // Folded: the last word's line, " " and the word, is the one the address would end.
    const long = `${"a".repeat(42)}${"b".repeat(30)}`;
    const [, last] = encodedWords(long).split("\r\n ");
    expect(last).toHaveLength(52);
    expect(fromLines(long, "login@mail.example.com")[1]).toBe(` ${last} <login@mail.example.com>`);
    expect(fromLines(long, "login@mail.example.com")[1]).toHaveLength(78);
    expect(
      linesOf(
        composeMessage({ ...base, from: { name: long, address: "login@mail.example.comm" } }),
      ).slice(1, 3),
    ).toEqual([` ${last}`, " <login@mail.example.comm>"]);
  });

  it("a header folds before a word that would pass 78, and keeps a first word too long on its own line", () => {
    const fits = `${"a".repeat(40)} ${"b".repeat(28)}`;
    expect(header("Subject", fits)).toBe(`Subject: ${fits}`);
    expect(header("Subject", fits)).toHaveLength(78);
    const over = `${"a".repeat(40)} ${"b".repeat(29)}`;
    expect(header("Subject", over)).toBe(`Subject: ${"a".repeat(40)}\r\n ${"b".repeat(29)}`);
    // No empty "Subject:" line before a long first word, and runs of spaces are one.
    expect(header("Subject", "x".repeat(80))).toBe(`Subject: ${"x".repeat(80)}`);
    expect(header("Subject", "a  \t  b")).toBe("Subject: a b");
  });

  it("a header line may hold 998 characters; one longer is encoded, whichever line it is", () => {
    expect(header("X", "x".repeat(995))).toBe(`X: ${"x".repeat(995)}`);
    expect(header("X", "x".repeat(996))).toMatch(/^X: =\?UTF-8\?B\?/);
    expect(header("Subject", `short ${"x".repeat(1000)}`)).toMatch(/^Subject: =\?UTF-8\?B\?/);
  });

  it("an encoded word holds 42 bytes at most, and no text gives no word", () => {
    expect(encodedWords("a".repeat(42))).toBe(
      `=?UTF-8?B?${Buffer.from("a".repeat(42)).toString("base64")}?=`,
    );
    expect(encodedWords("a".repeat(43)).split("\r\n ")).toEqual([
      `=?UTF-8?B?${Buffer.from("a".repeat(42)).toString("base64")}?=`,
      "=?UTF-8?B?YQ==?=",
    ]);
    expect(encodedWords("")).toBe("");
  });

  it("quoted-printable leaves printable ASCII as it is, ! and ~ included, and spaces inside a line", () => {
    const printable = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i))
      .join("")
      .replace("=", "");
    expect(quotedPrintable(printable).replace(/=\r\n/g, "")).toBe(printable);
    expect(quotedPrintable("!~")).toBe("!~");
    expect(quotedPrintable("a b\tc")).toBe("a b\tc");
    expect(quotedPrintable("\u007f\u0000")).toBe("=7F=00");
  });

  it("dates name every weekday and month as RFC 5322 does", () => {
    for (let month = 0; month < 12; month++) {
      for (const day of [1, 2, 3, 4, 5, 6, 7]) {
        const date = new Date(Date.UTC(2027, month, day, 9, 8, 7));
        // toUTCString is RFC 7231's IMF-fixdate, the same names and order with "GMT".
        expect(formatDate(date)).toBe(date.toUTCString().replace(/GMT$/, "+0000"));
      }
    }
  });
});

describe("what it refuses, and how it says so", () => {
  it("MAIL_FROM: spaces around the name and the address, no space before <, a quote only when it wraps the name", () => {
    expect(parseMailbox("Sign in <login@example.com> ")).toEqual({
      name: "Sign in",
      address: "login@example.com",
    });
    expect(parseMailbox("Sign in< login@example.com >")).toEqual({
      name: "Sign in",
      address: "login@example.com",
    });
    expect(parseMailbox("<login@example.com>")).toEqual({ address: "login@example.com" });
    // A line break inside the name is refused, not skipped over.
    expect(() => parseMailbox("Acme\nBcc: eve@example.org <login@example.com>")).toThrow(MimeError);
    expect(parseMailbox('a"b" <login@example.com>')).toEqual({
      name: 'a"b"',
      address: "login@example.com",
    });
    expect(parseMailbox('"a"b <login@example.com>')).toEqual({
      name: '"a"b',
      address: "login@example.com",
    });
  });

  it("names the value it refuses, and each error is a MimeError", () => {
    expect(() => parseMailbox("Sign in")).toThrow(
      'not an email address or "Name <address>": "Sign in"',
    );
    const error = (() => {
      try {
        composeMessage({ ...base, to: "ada" });
      } catch (caught) {
        return caught as Error;
      }
    })();
    expect(error).toBeInstanceOf(MimeError);
    expect(error?.name).toBe("MimeError");
    expect(error?.message).toBe("the recipient is not a plain address");
    expect(() => composeMessage({ ...base, messageId: "<a@b" })).toThrow(
      "the Message-ID is not <id@domain>",
    );
    expect(() => composeMessage({ ...base, from: { address: "a b@example.com" } })).toThrow(
      "the sender is not a plain address",
    );
  });

  it("a Message-ID with anything before or after its brackets", () => {
    for (const messageId of ["x<a@example.com>", "<a@example.com>x", "<@example.com>", "<a@>"]) {
      expect(() => composeMessage({ ...base, messageId }), messageId).toThrow(MimeError);
    }
  });

  it("the boundary is made of the letters and digits of the id's first 16 characters, and the message ends with a line break", () => {
    const raw = composeMessage({ ...base, messageId: "<ab.cd-ef_gh+ij@example.com>" });
    expect(raw).toContain('boundary="=_pls_abcdefghije"');
    expect(raw.endsWith("\r\n--=_pls_abcdefghije--\r\n")).toBe(true);
  });
});
