/**
 * The SMTP mailer on its own (app/mail/smtp.server.ts): the settings it hands nodemailer, what
 * it sends over the transport, when it opens new connections, and how each failure is
 * classified. Its transports here record instead of sending (the `createTransport` option,
 * not a module mock: test files share their modules); real SMTP, and every fault of a real
 * relay, are in tests/integration/smtp.test.ts and tests/mail/faults.test.ts.
 */
import type { Transporter } from "nodemailer";
import { beforeEach, describe, expect, it } from "vitest";
import {
  classifySmtpError,
  SmtpMailer as RealSmtpMailer,
  type SmtpMailerOptions,
  type SmtpSettings,
} from "../../app/mail/smtp.server";
import { MailSendError } from "../../app/mail/types";

interface FakeTransport {
  settings: Record<string, unknown>;
  sent: Array<{ envelope: { from: string; to: string[] }; raw: string; signal?: AbortSignal }>;
  closed: boolean;
  fail: unknown;
}
const transports: FakeTransport[] = [];

/** A transport that records what it is made with and given, in place of nodemailer's. */
function recordingTransport(settings: SmtpSettings): Transporter {
  const transport: FakeTransport = {
    settings: { ...settings },
    sent: [],
    closed: false,
    fail: undefined,
  };
  transports.push(transport);
  return {
    sendMail(mail: FakeTransport["sent"][number]) {
      if (transport.fail) return Promise.reject(transport.fail);
      transport.sent.push(mail);
      return Promise.resolve({});
    },
    close() {
      transport.closed = true;
    },
  } as unknown as Transporter;
}

/** The mailer under test, on recording transports. */
class SmtpMailer extends RealSmtpMailer {
  constructor(options: SmtpMailerOptions) {
    super({ ...options, createTransport: recordingTransport });
  }
}

beforeEach(() => {
  transports.length = 0;
});

const message = { to: "ada@example.com", subject: "Hi", text: "Hi", html: "<p>Hi</p>" };
const header = (raw: string, name: string) =>
  new RegExp(`^${name}: (.*)$`, "m").exec(raw.slice(0, raw.indexOf("\r\n\r\n")))?.[1];

describe("the settings handed to nodemailer", () => {
  it("takes host, port, TLS and credentials from the URL, percent-decoded", () => {
    new SmtpMailer({ url: "smtps://us%40er:p%3Ass@mail.example:2465", from: "a@example.com" });
    expect(transports[0]?.settings).toEqual({
      host: "mail.example",
      port: 2465,
      secure: true,
      auth: { user: "us@er", pass: "p:ss" },
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 10_000,
      pool: true,
      maxConnections: 4,
      maxMessages: 100,
    });
  });

  it("defaults the port to 465 for smtps and 587 for smtp, and sends no credentials without a user", () => {
    new SmtpMailer({ url: "smtps://mail.example", from: "a@example.com" });
    new SmtpMailer({ url: "smtp://mail.example", from: "a@example.com" });
    expect(transports.map((t) => [t.settings.port, t.settings.secure, t.settings.auth])).toEqual([
      [465, true, undefined],
      [587, false, undefined],
    ]);
  });

  it("uses the given idle timeout and number of connections", () => {
    new SmtpMailer({
      url: "smtp://mail.example:25",
      from: "a@example.com",
      timeoutMs: 1234,
      maxConnections: 2,
    });
    expect(transports[0]?.settings).toMatchObject({
      port: 25,
      connectionTimeout: 1234,
      greetingTimeout: 1234,
      socketTimeout: 1234,
      maxConnections: 2,
    });
  });
});

describe("what it sends", () => {
  it("the composed message to the recipient alone, from the sender's address, with the caller's signal", async () => {
    const mailer = new SmtpMailer({
      url: "smtp://mail.example",
      from: "Sign in <login@example.com>",
    });
    const signal = new AbortController().signal;
    await mailer.send(message, { signal });
    const [sent] = transports[0]?.sent ?? [];
    expect(sent?.envelope).toEqual({ from: "login@example.com", to: ["ada@example.com"] });
    expect(sent?.signal).toBe(signal);
    expect(header(sent?.raw ?? "", "From")).toBe("Sign in <login@example.com>");
    expect(header(sent?.raw ?? "", "To")).toBe("ada@example.com");
    expect(header(sent?.raw ?? "", "Subject")).toBe("Hi");
    expect(Math.abs(Date.parse(header(sent?.raw ?? "", "Date") ?? "") - Date.now())).toBeLessThan(
      5_000,
    );
  });

  it("gives a bare sender the app's name, and keeps MAIL_FROM's own name", async () => {
    const bare = new SmtpMailer({ url: "smtp://m.example", from: "a@example.com", name: "Acme" });
    const named = new SmtpMailer({
      url: "smtp://m.example",
      from: "Own <b@example.com>",
      name: "Acme",
    });
    const plain = new SmtpMailer({ url: "smtp://m.example", from: "c@example.com" });
    for (const mailer of [bare, named, plain]) await mailer.send(message);
    expect(transports.map((t) => header(t.sent[0]?.raw ?? "", "From"))).toEqual([
      "Acme <a@example.com>",
      "Own <b@example.com>",
      "c@example.com",
    ]);
  });

  it("names a tagged message <tag.id@sender's domain> on every attempt, an untagged one uniquely", async () => {
    const mailer = new SmtpMailer({ url: "smtp://m.example", from: "login@mail.sub.example.com" });
    const tagged = { ...message, tag: { id: "0123abcd" } } as typeof message;
    await mailer.send(tagged);
    await mailer.send(tagged);
    await mailer.send(message);
    await mailer.send(message);
    const ids = (transports[0]?.sent ?? []).map((s) => header(s.raw, "Message-ID"));
    expect(ids.slice(0, 2)).toEqual([
      "<0123abcd@mail.sub.example.com>",
      "<0123abcd@mail.sub.example.com>",
    ]);
    expect(ids[2]).toMatch(/^<[0-9a-f-]{36}@mail\.sub\.example\.com>$/);
    expect(ids[3]).not.toBe(ids[2]);
  });

  it("refuses a recipient that is not a plain address for good, without touching the transport", async () => {
    const mailer = new SmtpMailer({ url: "smtp://m.example", from: "a@example.com" });
    const refused = await mailer
      .send({ ...message, to: "ada@example.com\r\nBcc: eve@example.org" })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(MailSendError);
    expect(refused).toMatchObject({ failure: "unsendable", transient: false });
    expect((refused as Error).cause).toMatchObject({ name: "MimeError" });
    expect(transports).toHaveLength(1);
    expect(transports[0]?.sent).toEqual([]);
  });
});

describe("its connections", () => {
  it("after a failure, sends on a new pool and closes the old one", async () => {
    const mailer = new SmtpMailer({ url: "smtp://m.example", from: "a@example.com" });
    const first = transports[0] as FakeTransport;
    first.fail = Object.assign(new Error("451 try later"), { responseCode: 451 });
    await expect(mailer.send(message)).rejects.toMatchObject({ failure: "4xx:451" });
    expect(first.closed).toBe(true);
    expect(transports).toHaveLength(2);
    await mailer.send(message);
    expect(transports[1]?.sent).toHaveLength(1);
    expect(transports[1]?.closed).toBe(false);
  });

  it("a failure on a pool already replaced, or after close, opens no other", async () => {
    const mailer = new SmtpMailer({ url: "smtp://m.example", from: "a@example.com" });
    const first = transports[0] as FakeTransport;
    first.fail = Object.assign(new Error("451"), { responseCode: 451 });
    // Two sends on the first pool fail; only the first of them replaces it.
    await Promise.allSettled([mailer.send(message), mailer.send(message)]);
    expect(transports).toHaveLength(2);
    const second = transports[1] as FakeTransport;
    second.fail = new Error("ECONNRESET");
    mailer.close();
    expect(second.closed).toBe(true);
    await expect(mailer.send(message)).rejects.toMatchObject({ failure: "reset" });
    expect(transports).toHaveLength(2);
  });
});

describe("a failure, classified", () => {
  const classify = (error: unknown, signal?: AbortSignal) => {
    const { failure, transient } = classifySmtpError(error, signal);
    return [failure, transient];
  };
  const reply = (responseCode: unknown) => Object.assign(new Error("reply"), { responseCode });
  const system = (code: string, message = "") => Object.assign(new Error(message), { code });

  it("an SMTP reply: 4yz transient, 5yz permanent but 503, anything else not a reply", () => {
    expect(classify(reply(421))).toEqual(["4xx:421", true]);
    expect(classify(reply(400))).toEqual(["4xx:400", true]);
    expect(classify(reply(451))).toEqual(["4xx:451", true]);
    expect(classify(reply(499))).toEqual(["4xx:499", true]);
    expect(classify(reply(500))).toEqual(["5xx:500", false]);
    expect(classify(reply(550))).toEqual(["5xx:550", false]);
    expect(classify(reply(599))).toEqual(["5xx:599", false]);
    expect(classify(reply(503))).toEqual(["5xx:503", true]);
    expect(classify(reply(399))).toEqual(["error", true]);
    expect(classify(reply(600))).toEqual(["error", true]);
    expect(classify(reply("550"))).toEqual(["error", true]);
  });

  it("an aborted attempt is a timeout, whatever the error says", () => {
    const aborted = AbortSignal.abort();
    expect(classify(reply(550), aborted)).toEqual(["timeout", true]);
    expect(classify(system("EABORT"))).toEqual(["timeout", true]);
    expect(classify(reply(550), new AbortController().signal)).toEqual(["5xx:550", false]);
  });

  it("keeps a MailSendError as it is, with its cause", () => {
    const own = new MailSendError("unsendable", false);
    expect(classifySmtpError(own)).toBe(own);
    const cause = reply(451);
    expect(classifySmtpError(cause).cause).toBe(cause);
    expect(classifySmtpError(system("ECONNREFUSED")).cause).toMatchObject({ code: "ECONNREFUSED" });
    expect(classifySmtpError(cause, AbortSignal.abort()).cause).toBe(cause);
  });

  it("a failure below SMTP by its code or message, transient", () => {
    for (const [error, failure] of [
      [system("ECONNREFUSED"), "refused"],
      [system("ECONNRESET"), "reset"],
      [system("EPIPE"), "reset"],
      [system("ETIMEDOUT"), "timeout"],
      [new Error("Connection timed out"), "timeout"],
      [new Error("Greeting never received: timeout"), "timeout"],
      [new Error("socket time out"), "timeout"],
      [system("EDNS"), "dns"],
      [system("ENOTFOUND"), "dns"],
      [system("EAI_AGAIN"), "dns"],
      [system("ETLS"), "tls"],
      [new Error("self-signed Certificate in chain"), "tls"],
      [new Error("ssl3_get_record:wrong version number"), "tls"],
      [new Error("Client network socket disconnected before secure tls connection"), "tls"],
      [system("EAUTH"), "auth"],
      [system("ENOAUTH"), "auth"],
      [system("ECONNECTION"), "closed"],
      [new Error("Connection Closed unexpectedly"), "closed"],
      [system("EPROTOCOL"), "protocol"],
      [system("EENVELOPE", "no recipients"), "error"],
      [null, "error"],
      [undefined, "error"],
      ["a string", "error"],
    ] as const) {
      expect(classify(error), String(failure)).toEqual([failure, true]);
    }
  });

  it("looks through up to three causes, code and message alike", () => {
    const wrapped = (inner: unknown, depth: number): unknown =>
      depth === 0 ? inner : new Error("outer", { cause: wrapped(inner, depth - 1) });
    expect(classify(wrapped(system("ECONNREFUSED"), 3))).toEqual(["refused", true]);
    expect(classify(wrapped(new Error("read ECONNRESET"), 2))).toEqual(["reset", true]);
    expect(classify(wrapped(system("ECONNREFUSED"), 4))).toEqual(["error", true]);
    // The earlier, outer classes win in their order: refused before reset before timeout…
    expect(classify(new Error("ECONNRESET", { cause: system("ECONNREFUSED") }))).toEqual([
      "refused",
      true,
    ]);
  });

  it("reads only codes and messages that are strings, each a word of its own", () => {
    expect(classify({ code: ["ECONNREFUSED"], message: { toString: () => "ECONNRESET" } })).toEqual(
      ["error", true],
    );
    // A code and a message, or two causes, never run together into another class's word.
    expect(classify({ code: "ECONN", message: "REFUSED" })).toEqual(["error", true]);
    expect(classify(new Error("EPROTO", { cause: new Error("COL") }))).toEqual(["error", true]);
  });

  it("checks the classes in order, the first that matches wins", () => {
    const order = [
      "ECONNREFUSED",
      "ECONNRESET",
      "ETIMEDOUT",
      "ENOTFOUND",
      "ETLS",
      "EAUTH",
      "ECONNECTION",
      "EPROTOCOL",
    ];
    const names = ["refused", "reset", "timeout", "dns", "tls", "auth", "closed", "protocol"];
    for (let i = 0; i < order.length; i++) {
      const text = order.slice(i).reverse().join(" ");
      expect(classify(new Error(text))).toEqual([names[i], true]);
    }
  });
});
