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
