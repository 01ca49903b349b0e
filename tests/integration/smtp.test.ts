import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as link from "../../app/routes/auth.link";
import * as login from "../../app/routes/login";
import { parseConfig } from "../../app/config.server";
import { SmtpMailer } from "../../app/mail/smtp.server";
import { createServices } from "../../app/services.server";
import { MemoryStore } from "../../app/store/memory.server";
import { callRoute, CookieJar, createTestApp, postForm } from "../support/auth";
import { waitForDelivery } from "../support/delivery";
import { startFaultSmtp } from "../support/fault-smtp";
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

  describe("connections to the relay", () => {
    const message = (to: string) => ({
      to,
      subject: "Sign in",
      text: "Your code: 123456",
      html: "<p>Your code: 123456</p>",
    });

    it("reuses one connection for messages sent one after another", async () => {
      // A relay that passes every connection to the sink, and counts them.
      const relay = await startFaultSmtp("451", sink);
      await relay.heal();
      const mailer = new SmtpMailer({ url: relay.url, from: "Sign in <login@example.com>" });
      try {
        for (let i = 0; i < 5; i++) await mailer.send(message(`reuse-${i}@example.com`));
        await sink.waitForEmailTo("reuse-4@example.com");
        expect(relay.connections).toBe(1);
      } finally {
        mailer.close();
        await relay.close();
      }
    });

    it("after refusals, sends the next messages on new connections", async () => {
      // The relay answers 451 on every connection opened before it heals; a connection
      // that refused once is never asked again.
      const relay = await startFaultSmtp("451", sink);
      const mailer = new SmtpMailer({ url: relay.url, from: "Sign in <login@example.com>" });
      const burst = (prefix: string) =>
        Array.from({ length: 4 }, (_, i) => mailer.send(message(`${prefix}-${i}@example.com`)));
      try {
        for (const refused of await Promise.allSettled(burst("refused"))) {
          expect(refused).toMatchObject({
            status: "rejected",
            reason: { failure: "4xx:451", transient: true },
          });
        }
        await relay.heal();
        await Promise.all(burst("after-refusal"));
        await sink.waitForEmailTo("after-refusal-3@example.com");
      } finally {
        mailer.close();
        await relay.close();
      }
    });
  });

  it("a recipient that is not a plain address is refused for good, before anything is sent", async () => {
    const mailer = new SmtpMailer({ url: sink.url, from: "login@example.com" });
    const before = sink.messages.length;
    try {
      const to = "ada@example.com\r\nBcc: eve@example.org";
      const refused = await mailer
        .send({ to, subject: "Hi", text: "Hi", html: "<p>Hi</p>" })
        .catch((error: unknown) => error);
      expect(refused).toMatchObject({
        name: "MailSendError",
        failure: "unsendable",
        transient: false,
      });
      // A good one after it goes out as usual.
      await mailer.send({
        to: "next-after-unsendable@example.com",
        subject: "Hi",
        text: "Hi",
        html: "<p>Hi</p>",
      });
      await sink.waitForEmailTo("next-after-unsendable@example.com");
      expect(sink.messages.slice(before).map((m) => m.to)).toEqual([
        "next-after-unsendable@example.com",
      ]);
    } finally {
      mailer.close();
    }
  });

  describe("the sender's name", () => {
    /** What the inbox shows as the sender, with the app configured from these variables. */
    async function senderFor(env: Record<string, string>) {
      const services = createServices(
        parseConfig({
          NODE_ENV: "test",
          APP_ORIGIN: "http://localhost:5173",
          SESSION_SECRETS: "s".repeat(32),
          MAIL_TRANSPORT: "smtp",
          SMTP_URL: sink.url,
          STORE: "memory",
          ...env,
        }),
        { store: new MemoryStore({ sweepIntervalMs: 0 }), limits: null },
      );
      try {
        const to = `sender-${sink.messages.length}@example.com`;
        await services.mailer.send({ to, subject: "Hello", text: "Hello", html: "<p>Hello</p>" });
        return sender((await sink.waitForEmailTo(to)).from ?? "");
      } finally {
        await services.close();
      }
    }

    /** A From header's display name and address, the name unquoted. */
    function sender(from: string): { name: string; address: string } | string {
      const parts = /^(.*?)\s*<([^<>]+)>$/.exec(from);
      if (!parts) return from;
      const name = (parts[1] ?? "").replace(/^"(.*)"$/, "$1").replace(/\\(.)/g, "$1");
      return { name, address: parts[2] ?? "" };
    }

    it("is APP_NAME when MAIL_FROM is a bare address", async () => {
      expect(await senderFor({ MAIL_FROM: "login@example.com", APP_NAME: "Acme Sign-in" })).toEqual(
        { name: "Acme Sign-in", address: "login@example.com" },
      );
      // Unset, APP_NAME has its own default, which the inbox then shows.
      expect(await senderFor({ MAIL_FROM: "login@example.com" })).toEqual({
        name: "Passwordless Starter",
        address: "login@example.com",
      });
    });

    it("is MAIL_FROM's own when it has one", async () => {
      expect(
        await senderFor({ MAIL_FROM: "Sign in <login@example.com>", APP_NAME: "Acme Sign-in" }),
      ).toEqual({ name: "Sign in", address: "login@example.com" });
    });

    it("keeps a name with quotes, commas and accents whole (quoted or encoded)", async () => {
      expect(
        await senderFor({ MAIL_FROM: "login@example.com", APP_NAME: 'Café "Ada", Ltd' }),
      ).toEqual({ name: 'Café "Ada", Ltd', address: "login@example.com" });
    });
  });
});
