/**
 * SMTP relays that fail the way relays do, on 127.0.0.1, for the delivery tests (S32). Each
 * misbehaves until `heal()`; from then on every new connection is passed through to a real
 * SMTP sink, so a test can watch the queue recover and the email arrive.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { freePort } from "./production-app";
import type { SmtpSink } from "./smtp-sink";
import { trackSockets } from "./sockets";

export type SmtpFault =
  /** Nothing listening on the port (connection refused). */
  | "down"
  /** Accepts the connection and never says a word. */
  | "silent"
  /** Greets, then answers EHLO one continuation line at a time, forever. */
  | "drip-ehlo"
  /** Answers every command correctly, each after `replyDelayMs`. */
  | "slow"
  /** Refuses the recipient with 451 (try again later). */
  | "451"
  /** Refuses the recipient with 550 (no such user): permanent. */
  | "550"
  /** Takes the message and drops the connection in the middle of DATA. */
  | "drop-mid-data";

export interface FaultSmtp {
  /** smtp://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Connections the relay has seen (for "down": none until healed). */
  readonly connections: number;
  /** Stop failing: new connections reach the sink. */
  heal(): Promise<void>;
  close(): Promise<void>;
}

export interface FaultOptions {
  /** "slow": the wait before each reply. "drip-ehlo": between lines. Default 5000 / 1000. */
  replyDelayMs?: number;
}

export async function startFaultSmtp(
  fault: SmtpFault,
  sink: SmtpSink,
  options: FaultOptions = {},
): Promise<FaultSmtp> {
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let healed = false;
  let connections = 0;
  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const server: Server = createServer((socket) => {
    connections += 1;
    socket.on("error", () => socket.destroy());
    if (healed) {
      const upstream = connect(sink.port, "127.0.0.1");
      upstream.on("error", () => socket.destroy());
      socket.on("close", () => upstream.destroy());
      upstream.on("close", () => socket.destroy());
      socket.pipe(upstream).pipe(socket);
      return;
    }
    misbehave(socket);
  });
  const sockets = trackSockets(server);

  const misbehave = (socket: Socket) => {
    if (fault === "silent") return;
    const delay = fault === "slow" ? (options.replyDelayMs ?? 5000) : 0;
    const reply = (text: string) =>
      delay ? later(delay, () => socket.writable && socket.write(text)) : socket.write(text);
    reply("220 fault.test ESMTP\r\n");
    let inData = false;
    let buffer = "";
    socket.on("data", (chunk: Buffer) => {
      if (inData && fault === "drop-mid-data") {
        // Some of the message has arrived; the relay vanishes before it answers.
        socket.destroy();
        return;
      }
      buffer += chunk.toString("latin1");
      let end: number;
      while ((end = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === ".") {
            inData = false;
            reply("250 2.0.0 queued\r\n");
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO" || verb === "HELO") {
          if (fault === "drip-ehlo") {
            const every = options.replyDelayMs ?? 1000;
            const drip = () => {
              if (!socket.writable) return;
              socket.write("250-fault.test still thinking\r\n");
              later(every, drip);
            };
            drip();
          } else reply("250-fault.test\r\n250 8BITMIME\r\n");
        } else if (verb === "MAIL") reply("250 2.1.0 ok\r\n");
        else if (verb === "RCPT") {
          if (fault === "451") reply("451 4.3.0 mailbox busy, try again later\r\n");
          else if (fault === "550") reply("550 5.1.1 no such user here\r\n");
          else reply("250 2.1.5 ok\r\n");
        } else if (verb === "DATA") {
          inData = true;
          reply("354 go ahead\r\n");
        } else if (verb === "RSET" || verb === "NOOP") reply("250 ok\r\n");
        else if (verb === "QUIT") {
          reply("221 bye\r\n");
          socket.end();
        } else reply("502 5.5.2 not implemented\r\n");
      }
    });
  };

  const port = await freePort();
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  // "down" is a port with nothing behind it until the relay comes back.
  if (fault !== "down") await listen();

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    get connections() {
      return connections;
    },
    async heal() {
      healed = true;
      if (!server.listening) await listen();
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      sockets.destroyAll();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
