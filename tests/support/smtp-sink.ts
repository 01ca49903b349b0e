import { SMTPServer } from "smtp-server";
import type { AddressInfo } from "node:net";
import { readEmail, type ReadEmail } from "./mail";

export interface SmtpSink {
  /** smtp://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Every message received, oldest first. */
  messages: SinkEmail[];
  lastEmailTo(address: string): SinkEmail | undefined;
  /** Resolves with the next message to `address` (or the latest, if one already came). */
  waitForEmailTo(address: string, timeoutMs?: number): Promise<SinkEmail>;
  /** Resolves with the `count`-th message to `address` (1-based) once it has arrived. */
  waitForNthEmailTo(address: string, count: number, timeoutMs?: number): Promise<SinkEmail>;
  close(): Promise<void>;
}

/** A received email, with its Message-ID and From headers. */
export interface SinkEmail extends ReadEmail {
  messageId?: string;
  /** The From header as the inbox shows it, encoded words decoded. */
  from?: string;
}

/** A real SMTP server on 127.0.0.1 that keeps what it receives (no auth, no TLS). */
export async function startSmtpSink(
  options: { port?: number; onMessage?: (message: SinkEmail) => void } = {},
): Promise<SmtpSink> {
  const messages: SinkEmail[] = [];
  const waiters: { address: string; resolve: (m: SinkEmail) => void }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const to = session.envelope.rcptTo.map((r) => r.address)[0] ?? "";
        const message = parseMime(Buffer.concat(chunks).toString("utf8"), to);
        messages.push(message);
        options.onMessage?.(message);
        for (const waiter of [...waiters]) {
          if (waiter.address.toLowerCase() === to.toLowerCase()) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(message);
          }
        }
        callback();
      });
    },
  });
  // A client that vanishes resets its connection: a server process killed (kill -9) while
  // its pooled connection to the sink is open. Normal for a relay; anything else is not.
  server.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "ECONNRESET" && error.code !== "EPIPE") console.error("[smtp-sink]", error);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const port = (server.server.address() as AddressInfo).port;
  const lastEmailTo = (address: string) =>
    [...messages].reverse().find((m) => m.to.toLowerCase() === address.toLowerCase());
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    lastEmailTo,
    waitForEmailTo(address, timeoutMs = 5000) {
      const existing = lastEmailTo(address);
      if (existing) return Promise.resolve(existing);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no email to ${address} within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          address,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
    async waitForNthEmailTo(address, count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const to = messages.filter((m) => m.to.toLowerCase() === address.toLowerCase());
        if (to.length >= count) return to[count - 1] as SinkEmail;
        if (Date.now() > deadline)
          throw new Error(
            `only ${to.length} of ${count} emails to ${address} within ${timeoutMs} ms`,
          );
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Just enough MIME to read what the app sends (app/mail/mime.ts): headers, multipart/alternative, QP/base64. */
function parseMime(raw: string, to: string): SinkEmail {
  const [head = "", ...rest] = raw.split(/\r?\n\r?\n/);
  const body = rest.join("\r\n\r\n");
  const headers = parseHeaders(head);
  const subject = decodeWords(headers.get("subject") ?? "");
  const parts: { type: string; content: string }[] = [];
  const boundary = /boundary="?([^";]+)"?/i.exec(headers.get("content-type") ?? "")?.[1];
  if (boundary) {
    for (const section of body.split(`--${boundary}`)) {
      const [partHead = "", ...partBody] = section.replace(/^\r?\n/, "").split(/\r?\n\r?\n/);
      const h = parseHeaders(partHead);
      const type = (h.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
      if (!type) continue;
      parts.push({
        type,
        content: decodeBody(partBody.join("\r\n\r\n"), h.get("content-transfer-encoding")),
      });
    }
  } else {
    parts.push({
      type: (headers.get("content-type") ?? "text/plain").split(";")[0]?.trim() ?? "text/plain",
      content: decodeBody(body, headers.get("content-transfer-encoding")),
    });
  }
  const text = parts.find((p) => p.type === "text/plain")?.content ?? "";
  const html = parts.find((p) => p.type === "text/html")?.content ?? "";
  return {
    ...readEmail({ to, subject, text, html }),
    messageId: headers.get("message-id"),
    from: decodeWords(headers.get("from") ?? ""),
  };
}

function parseHeaders(head: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0) map.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return map;
}

function decodeBody(body: string, encoding: string | undefined): string {
  const trimmed = body.replace(/\r?\n$/, "");
  switch ((encoding ?? "").toLowerCase()) {
    case "quoted-printable":
      return Buffer.from(
        trimmed
          .replace(/=\r?\n/g, "")
          .replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
        "latin1",
      )
        .toString("utf8")
        .replace(/\r\n/g, "\n");
    case "base64":
      return Buffer.from(trimmed.replace(/\s+/g, ""), "base64")
        .toString("utf8")
        .replace(/\r\n/g, "\n");
    default:
      return trimmed.replace(/\r\n/g, "\n");
  }
}

function decodeWords(value: string): string {
  // Whitespace between two encoded words (a folded header) is not part of the text (RFC 2047 §6.2).
  return value
    .replace(/(\?=)\s+(?==\?)/g, "$1")
    .replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_, kind: string, text: string) =>
      kind.toLowerCase() === "b"
        ? Buffer.from(text, "base64").toString("utf8")
        : Buffer.from(
            text
              .replace(/_/g, " ")
              .replace(/=([0-9A-F]{2})/gi, (__, hex: string) =>
                String.fromCharCode(parseInt(hex, 16)),
              ),
            "latin1",
          ).toString("utf8"),
    );
}
