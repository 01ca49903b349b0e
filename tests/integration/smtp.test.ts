import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as link from "../../app/routes/auth.link";
import * as login from "../../app/routes/login";
import { SmtpMailer } from "../../app/mail/smtp.server";
import { callRoute, CookieJar, createTestApp, postForm } from "../support/auth";
import { waitForDelivery } from "../support/delivery";
import { startSmtpSink, type SmtpSink } from "../support/smtp-sink";

let sink: SmtpSink;
beforeAll(async () => {
  sink = await startSmtpSink();
});
afterAll(() => sink.close());

describe("mail over real SMTP", () => {
  it("sends one email with the link and the code, which then sign in", async () => {
    const mailer = new SmtpMailer({ url: sink.url, from: "Sign in <login@example.com>" });
    const app = createTestApp({
      mailer,
      env: { MAIL_TRANSPORT: "smtp", SMTP_URL: sink.url, MAIL_FROM: "Sign in <login@example.com>" },
    });
    try {
      const jar = new CookieJar();
      jar.store(
        await callRoute(login.action, postForm("/login", { email: "smtp-person@example.com" })),
      );
      const email = await sink.waitForEmailTo("smtp-person@example.com");
      expect(sink.messages.filter((m) => m.to === "smtp-person@example.com")).toHaveLength(1);
      expect(email.subject).toBe("Sign in to Passwordless Starter");
      expect(email.link).toMatch(/^http:\/\/localhost:5173\/auth\/link\?token=[\w-]{43}$/);
      expect(email.code).toMatch(/^\d{6}$/);
      expect(email.html).toContain(email.code);
      expect(email.html).toContain(email.link?.replaceAll("&", "&amp;"));
      expect(email.text).toMatch(/expire in 10 minutes/);
      const result = await callRoute(
        link.action,
        postForm("/auth/link", { token: email.token as string }, { cookie: jar }),
      );
      expect(result.status).toBe(303);
      expect(result.headers.getSetCookie().some((c) => c.startsWith("session="))).toBe(true);
    } finally {
      await app.close();
    }
  });

  it("a dead SMTP server does not hold the request: 303, and the page says it is still trying", async () => {
    // Every fault, and recovery from it, is in tests/mail/faults.test.ts.
    const mailer = new SmtpMailer({ url: "smtp://127.0.0.1:1", from: "x@example.com" });
    const app = createTestApp({ mailer, mailQueue: { retry: { firstDelayMs: 60_000 } } });
    try {
      const jar = new CookieJar();
      const result = await callRoute(
        login.action,
        postForm("/login", { email: "nobody@example.com" }, { cookie: jar }),
      );
      expect(result.status).toBe(303);
      jar.store(result);
      expect((await waitForDelivery(jar, "retrying")).state).toBe("retrying");
    } finally {
      await app.close();
    }
  });
});
