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
});
