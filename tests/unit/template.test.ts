import { describe, expect, it } from "vitest";
import { renderSignInEmail } from "../../app/mail/template";

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

  it("is a whole HTML document whose head declares UTF-8 and carries the subject as title", () => {
    const mail = renderSignInEmail({
      to: "a@b.co",
      appName: "Ç<Acme>",
      link: "https://app.example/l",
      expiresInMinutes: 10,
    });
    const head = /<head>([\s\S]*)<\/head>/.exec(mail.html)?.[1] ?? "";
    expect(mail.html).toMatch(/^<!doctype html>\n<html lang="en">\n<head>/);
    expect(head).toMatch(/<meta charset="utf-8">/);
    expect(head).toContain("<title>Sign in to Ç&lt;Acme&gt;</title>");
    expect(mail.subject).toBe("Sign in to Ç<Acme>");
  });

  it("sets its own background and text colours, so dark-mode clients keep it readable", () => {
    const mail = renderSignInEmail({
      to: "a@b.co",
      appName: "Acme",
      link: "https://app.example/l",
      code: "012345",
      expiresInMinutes: 10,
    });
    const style = (tag: RegExp) => tag.exec(mail.html)?.[1] ?? "";
    // Nothing left for the client to choose: the page, the code box and the link each say
    // what they are painted with, and the page asks to be shown as light.
    const body = style(/<body style="([^"]*)"/);
    expect(body).toMatch(/background-color: #ffffff/);
    expect(body).toMatch(/(^|; )color: #111111/);
    const codeBox = style(/<p style="([^"]*)"><code>/);
    expect(codeBox).toMatch(/background-color: #f3f4f6/);
    expect(codeBox).toMatch(/(^|; )color: #111111/);
    expect(style(/<a href="[^"]*" style="([^"]*)"/)).toMatch(/(^|; )color: #2b35a8/);
    expect(mail.html).toContain('<meta name="color-scheme" content="light">');
  });
});
