import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as link from "../../app/routes/auth.link";
import * as login from "../../app/routes/login";
import { SmtpMailer } from "../../app/mail/smtp.server";
import { callRoute, CookieJar, createTestApp, postForm } from "../support/auth";
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

  it("reports a dead SMTP server as 'unavailable' (503), not a 500", async () => {
    const mailer = new SmtpMailer({
      url: "smtp://127.0.0.1:1",
      from: "x@example.com",
      timeoutMs: 2000,
    });
    const app = createTestApp({ mailer });
    try {
      const result = await callRoute(
        login.action,
        postForm("/login", { email: "nobody@example.com" }),
      );
      expect(result.status).toBe(503);
      expect(result.data).toEqual({ error: { code: "unavailable" } });
    } finally {
      await app.close();
    }
  });
});
