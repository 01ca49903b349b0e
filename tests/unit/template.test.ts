import { describe, expect, it } from "vitest";
import { renderDeletionEmail, renderSignInEmail } from "../../app/mail/template";

describe("the sign-in email", () => {
  it("carries the link and the code in text and HTML, escaped, with the expiry (S9)", () => {
    const mail = renderSignInEmail({
      to: "a@b.co",
      appName: "<Acme & Co>",
      link: "https://app.example/auth/link?token=x&y=1",
      code: "012345",
      expiresInMinutes: 10,
    });
    expect(mail.text).toContain("https://app.example/auth/link?token=x&y=1");
    expect(mail.text).toMatch(/^012345$/m);
    expect(mail.text).toContain("expire in 10 minutes");
    expect(mail.text).toContain("If you did not ask to sign in");
    expect(mail.html).toContain('href="https://app.example/auth/link?token=x&amp;y=1"');
    expect(mail.html).toContain("&lt;Acme &amp; Co&gt;");
    expect(mail.html).not.toContain("<Acme");
    expect(mail.text).toContain("press Continue");
  });

  it("does not promise a Continue step for a provider's link that signs in directly", () => {
    const mail = renderSignInEmail({
      to: "a@b.co",
      appName: "Acme",
      link: "https://p.example/l",
      expiresInMinutes: 15,
      continueStep: false,
    });
    expect(mail.text).not.toContain("Continue");
    expect(mail.html).not.toContain("Continue");
    expect(mail.text).toContain("in the browser where you asked to sign in");
  });
});

// Every email the app sends, in its fullest form (a link and a code where it has both).
const emails = {
  "the sign-in email": renderSignInEmail({
    to: "a@b.co",
    appName: "Ç<Acme>",
    link: "https://app.example/l",
    code: "012345",
    expiresInMinutes: 10,
  }),
  "the account deletion email": renderDeletionEmail({
    to: "a@b.co",
    appName: "Ç<Acme>",
    code: "012345",
    expiresInMinutes: 10,
  }),
};

describe.each(Object.entries(emails))("%s", (_, mail) => {
  it("is a whole HTML document whose head declares UTF-8 and carries the subject as title", () => {
    const head = /<head>([\s\S]*)<\/head>/.exec(mail.html)?.[1] ?? "";
    expect(mail.html).toMatch(/^<!doctype html>\n<html lang="en">\n<head>/);
    expect(head).toMatch(/<meta charset="utf-8">/);
    expect(head).toContain(
      `<title>${mail.subject.replace("<", "&lt;").replace(">", "&gt;")}</title>`,
    );
    expect(mail.subject).toContain("Ç<Acme>");
  });

  it("sets its own background and text colours, so dark-mode clients keep it readable", () => {
    const style = (tag: RegExp) => tag.exec(mail.html)?.[1] ?? "";
    // Nothing left for the client to choose: the page, the code box and any link each say
    // what they are painted with, and the page asks to be shown as light.
    const body = style(/<body style="([^"]*)"/);
    expect(body).toMatch(/background-color: #ffffff/);
    expect(body).toMatch(/(^|; )color: #111111/);
    const codeBox = style(/<p style="([^"]*)"><code>012345<\/code>/);
    expect(codeBox).toMatch(/background-color: #f3f4f6/);
    expect(codeBox).toMatch(/(^|; )color: #111111/);
    for (const [, linkStyle] of mail.html.matchAll(/<a href="[^"]*" style="([^"]*)"/g))
      expect(linkStyle).toMatch(/(^|; )color: #2b35a8/);
    expect(mail.html.match(/<a /g)?.length ?? 0).toBe(
      mail.html.match(/<a href="[^"]*" style="[^"]*color: #2b35a8/g)?.length ?? 0,
    );
    expect(mail.html).toContain('<meta name="color-scheme" content="light">');
  });
});

it("the deletion email's text carries the code and what deleting does", () => {
  const mail = emails["the account deletion email"];
  expect(mail.subject).toBe("Confirm deleting your Ç<Acme> account");
  expect(mail.text).toMatch(/^012345$/m);
  expect(mail.text).toContain("It works for 10 minutes, once");
  expect(mail.html).toContain("Ç&lt;Acme&gt; account");
  expect(mail.html).not.toContain("<Acme");
});

describe("what the sign-in email says for what was issued", () => {
  const render = (issued: { link?: string; code?: string }, more = {}) =>
    renderSignInEmail({ to: "a@b.co", appName: "Acme", expiresInMinutes: 15, ...issued, ...more });
  /** The HTML's paragraphs and heading as text, tags and entities taken out. */
  const htmlText = (html: string) =>
    [...html.matchAll(/<(?:p|h1)[^>]*>([\s\S]*?)<\/(?:p|h1)>/g)].map(([, inner]) =>
      (inner ?? "")
        .replace(/<[^>]+>/g, "")
        .replaceAll("&lt;", "<")
        .replaceAll("&gt;", ">")
        .replaceAll("&quot;", '"')
        .replaceAll("&#39;", "'")
        .replaceAll("&amp;", "&"),
    );

  /** What the body holds outside its heading and paragraphs. */
  const outside = (html: string) =>
    (/<body[^>]*>([\s\S]*)<\/body>/.exec(html)?.[1] ?? "")
      .replace(/<(p|h1)[ >][\s\S]*?<\/\1>/g, "")
      .trim();

  it("holds nothing in the HTML body but its heading and paragraphs, whatever was issued", () => {
    for (const issued of [
      { link: "https://app.example/l", code: "012345" },
      { link: "https://app.example/l" },
      { code: "012345" },
    ]) {
      expect(outside(render(issued).html)).toBe("");
    }
  });

  it("a link and a code: the link first, the code as the other way, both expiring", () => {
    const mail = render({ link: "https://app.example/l", code: "012345" });
    expect(mail.subject).toBe("Sign in to Acme");
    expect(mail.text.split("\n")).toEqual([
      "Sign in to Acme",
      "",
      "Open this link, then press Continue:",
      "https://app.example/l",
      "",
      "Or enter this code in the tab where you started:",
      "012345",
      "",
      "This link and code expire in 15 minutes and work once.",
      "",
      "If you did not ask to sign in, you can ignore this email: nobody can sign in without it.",
      "",
    ]);
    expect(htmlText(mail.html)).toEqual([
      "Sign in to Acme",
      "Open this link, then press Continue:",
      "Sign in to Acme",
      "Or enter this code in the tab where you started:",
      "012345",
      "This link and code expire in 15 minutes and work once.",
      "If you did not ask to sign in, you can ignore this email: nobody can sign in without it.",
    ]);
    expect(mail.html).toContain("press <strong>Continue</strong>:");
    expect(mail.html).toContain('<a href="https://app.example/l" style="color: #2b35a8;">');
    expect(mail.html).toMatch(/<p style="color: #555555;">If you did not ask/);
    expect(mail.to).toBe("a@b.co");
  });

  it("a link only: no code, and the link alone expires", () => {
    const mail = render({ link: "https://app.example/l" });
    expect(mail.text.split("\n")).toEqual([
      "Sign in to Acme",
      "",
      "Open this link, then press Continue:",
      "https://app.example/l",
      "",
      "This link expires in 15 minutes and works once.",
      "",
      "If you did not ask to sign in, you can ignore this email: nobody can sign in without it.",
      "",
    ]);
    expect(htmlText(mail.html)).toEqual([
      "Sign in to Acme",
      "Open this link, then press Continue:",
      "Sign in to Acme",
      "This link expires in 15 minutes and works once.",
      "If you did not ask to sign in, you can ignore this email: nobody can sign in without it.",
    ]);
  });

  it("a code only: no link, and the code is the one way in", () => {
    const mail = render({ code: "012345" });
    expect(mail.html).not.toContain("<a ");
    expect(mail.text.split("\n").slice(0, 6)).toEqual([
      "Sign in to Acme",
      "",
      "Enter this code in the tab where you started:",
      "012345",
      "",
      "This code expires in 15 minutes and works once.",
    ]);
    expect(htmlText(mail.html)).toEqual([
      "Sign in to Acme",
      "Enter this code in the tab where you started:",
      "012345",
      "This code expires in 15 minutes and works once.",
      "If you did not ask to sign in, you can ignore this email: nobody can sign in without it.",
    ]);
  });

  it("a provider's direct link: the browser to open it in, escaped in the HTML", () => {
    const mail = render({ link: "https://p.example/l" }, { continueStep: false });
    expect(mail.text.split("\n").slice(2, 4)).toEqual([
      "Open this link in the browser where you asked to sign in:",
      "https://p.example/l",
    ]);
    expect(htmlText(mail.html)[1]).toBe(
      "Open this link in the browser where you asked to sign in:",
    );
    // continueStep left out or true both mean the app's own landing page.
    expect(render({ link: "https://p.example/l" }, { continueStep: true }).text).toContain(
      "Open this link, then press Continue:",
    );
  });

  it("one minute is singular, in both emails", () => {
    expect(render({ code: "012345" }, { expiresInMinutes: 1 }).text).toContain(
      "expires in 1 minute and",
    );
    expect(render({ code: "012345" }, { expiresInMinutes: 1 }).html).toContain(
      "expires in 1 minute and",
    );
    const deletion = renderDeletionEmail({
      to: "a@b.co",
      appName: "Acme",
      code: "012345",
      expiresInMinutes: 1,
    });
    expect(deletion.text).toContain("It works for 1 minute, once");
    expect(deletion.html).toContain("It works for 1 minute, once");
  });

  it("escapes all five HTML specials wherever a value lands", () => {
    const mail = render(
      { link: `https://app.example/l?a="x"&b='y'<z>`, code: `<1&"2'>` },
      { appName: `A&B <"C"> 'D'` },
    );
    const escaped = "A&amp;B &lt;&quot;C&quot;&gt; &#39;D&#39;";
    expect(mail.html).toContain(`<title>Sign in to ${escaped}</title>`);
    expect(mail.html).toContain(`<h1 style="font-size: 20px;">Sign in to ${escaped}</h1>`);
    expect(mail.html).toContain(
      '<a href="https://app.example/l?a=&quot;x&quot;&amp;b=&#39;y&#39;&lt;z&gt;"',
    );
    expect(mail.html).toContain("<code>&lt;1&amp;&quot;2&#39;&gt;</code>");
    expect(mail.html).not.toMatch(/A&B|<"C">|'D'|'y'|<z>|<1/);
    // The text version is not HTML: it carries every value as it is.
    expect(mail.text).toContain(`Sign in to A&B <"C"> 'D'`);
    expect(mail.text).toContain(`https://app.example/l?a="x"&b='y'<z>`);
  });
});

it("the deletion email says what deleting removes and how to ignore it, in text and HTML", () => {
  const mail = renderDeletionEmail({
    to: "a@b.co",
    appName: "A&B",
    code: "012345",
    expiresInMinutes: 10,
  });
  expect(mail.to).toBe("a@b.co");
  expect(mail.subject).toBe("Confirm deleting your A&B account");
  expect(mail.text).toBe(
    "Your code to delete your A&B account:\n\n012345\n\nIt works for 10 minutes, once, in the browser where you asked. Deleting removes your account, its sign-in methods and passkeys, and signs you out everywhere. If you did not ask for this, ignore this email: nothing happens without the code.\n",
  );
  expect(mail.html).toContain("<p>Your code to delete your A&amp;B account:</p>");
  expect(mail.html).toContain(
    "<p>It works for 10 minutes, once, in the browser where you asked. Deleting removes your account, its sign-in methods and passkeys, and signs you out everywhere.</p>",
  );
  expect(mail.html).toContain(
    '<p style="color: #555555;">If you did not ask for this, ignore this email: nothing happens without the code.</p>',
  );
});
