/**
 * S33 through the real production server (`npm start` on the build): requests the app
 * cannot represent get a 4xx and one log line, never a 500 or a stack trace; SIGTERM drains
 * within SHUTDOWN_TIMEOUT while clients keep sending on kept-alive connections.
 */
import { Agent, request as httpRequest } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  productionBuild,
  startProductionServer,
  type ProductionBuild,
  type ProductionServer,
} from "../support/production-app";

const env = {
  APP_ORIGIN: "https://app.example.test",
  SESSION_SECRETS: "server-test-secret-0123456789abcdef012345",
  MAIL_TRANSPORT: "outbox",
  ALLOW_OUTBOX_IN_PRODUCTION: "1",
};

let build: ProductionBuild;

beforeAll(async () => {
  build = await productionBuild();
}, 150_000);

/** Send `text` as it is on a fresh connection; resolve with everything the server answered. */
function raw(server: ProductionServer, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // Written, not ended: a half-closed socket may be closed before a slower answer is sent.
    const socket = connect(server.port, "127.0.0.1", () => socket.write(text));
    let answer = "";
    socket.on("data", (chunk) => (answer += chunk.toString("latin1")));
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error("no answer")));
  });
}

const status = (answer: string) => Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1]);

describe("S33 malformed requests never reach a 500", () => {
  let server: ProductionServer;

  beforeAll(async () => {
    server = await startProductionServer(build, env);
    // The readiness probe's own log line can come a moment after its answer: wait for it,
    // so that it is not read as a line of the first case.
    const deadline = Date.now() + 10_000;
    while (!/^GET \/healthz /m.test(server.output()) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
  }, 30_000);

  afterAll(async () => {
    await server?.stop();
  });

  const cases: Array<[string, string, number, RegExp]> = [
    [
      "TRACE",
      "TRACE / HTTP/1.1\r\nHost: app.example.test\r\nConnection: close\r\n\r\n",
      405,
      /^TRACE \/ 405 .*method/m,
    ],
    ["HTTP/1.0 without Host", "GET /login HTTP/1.0\r\n\r\n", 400, /^GET \/login 400 .*Host/m],
    ["HTTP/1.0 with an empty Host", "GET / HTTP/1.0\r\nHost:\r\n\r\n", 400, /^GET \/ 400 .*Host/m],
    [
      "a malformed percent-encoding",
      "GET /%c1%1c HTTP/1.1\r\nHost: app.example.test\r\nConnection: close\r\n\r\n",
      400,
      /^GET \/%c1%1c 400 .*percent-encoding/m,
    ],
    [
      "a malformed percent-encoding under /assets",
      "GET /assets/%E0%A4%A HTTP/1.1\r\nHost: app.example.test\r\nConnection: close\r\n\r\n",
      400,
      /^GET \/assets\/%E0%A4%A 400/m,
    ],
  ];

  for (const [name, text, expected, logged] of cases) {
    it(`${name} → ${expected}, one log line, no stack trace`, async () => {
      const before = server.output().length;
      const answer = await raw(server, text);
      expect(status(answer), answer).toBe(expected);
      // The line is written before the answer goes out; give the pipe a moment.
      const deadline = Date.now() + 5_000;
      while (!logged.test(server.output().slice(before)) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      const log = server.output().slice(before);
      expect(log).toMatch(logged);
      // One line for this request. The server's own lines written meanwhile (a readiness
      // probe answered late on a loaded machine) are not this request's; a stack trace
      // anywhere is.
      const line = text.slice(0, text.indexOf(" HTTP/"));
      const lines = log.split("\n").filter((entry) => entry.startsWith(`${line} `));
      expect(lines, log).toHaveLength(1);
      expect(log).not.toMatch(/URIError|TypeError|\n\s+at /);
    });
  }

  it("a well-formed request still works (control)", async () => {
    const answer = await raw(server, "GET /login HTTP/1.0\r\nHost: app.example.test\r\n\r\n");
    expect(status(answer)).toBe(200);
  });
});

describe("S33 graceful shutdown", () => {
  it("under 50 kept-alive clients: /healthz 503 and Connection: close while draining, exit within SHUTDOWN_TIMEOUT", async () => {
    const server = await startProductionServer(build, { ...env, SHUTDOWN_TIMEOUT: "5" });
    const agent = new Agent({ keepAlive: true, maxSockets: 50 });
    const seen: Array<{ status: number; connection?: string; path: string }> = [];
    let stop = false;
    const get = (path: string) =>
      new Promise<void>((resolve) => {
        const req = httpRequest(
          { host: "127.0.0.1", port: server.port, path, agent, headers: { Host: "app" } },
          (res) => {
            res.resume();
            res.on("end", () => {
              seen.push({ status: res.statusCode ?? 0, connection: res.headers.connection, path });
              resolve();
            });
          },
        );
        req.on("error", () => resolve()); // refused once the server stopped listening
        req.end();
      });
    // A probe whose request is begun before the signal and finished after it: a socket with
    // a request under way is not closed by the drain, so the probe is answered while
    // draining, however the clients' requests happen to fall around the signal. It is begun
    // before the clients start, so the server has read it long before their 100th answer
    // (a probe begun just before the signal might not even have been accepted).
    const probe = connect(server.port, "127.0.0.1");
    let probeAnswer = "";
    probe.on("data", (chunk) => (probeAnswer += chunk.toString("latin1")));
    probe.on("error", () => undefined);
    const probeClosed = new Promise((resolve) => probe.once("close", resolve));
    await new Promise((resolve) => probe.once("connect", resolve));
    probe.write("GET /healthz HTTP/1.1\r\nHost: app\r\n");
    // 50 clients, each sending again as soon as it has its answer, until told to stop.
    const clients = Array.from({ length: 50 }, async (_, i) => {
      while (!stop) await get(i % 5 === 0 ? "/healthz" : "/");
    });
    try {
      const deadline = Date.now() + 15_000;
      while (seen.length < 100 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(seen.length).toBeGreaterThanOrEqual(100);
      expect(seen.filter((s) => s.status !== 200)).toEqual([]);
      const before = seen.length;
      const started = Date.now();
      let gone = false;
      const exited = server.signal("SIGTERM").finally(() => (gone = true));
      // The flag /healthz reads is set just before this line is logged. (The probe holds the
      // exit, so the server cannot be gone before it; the check only ends a broken run.)
      while (!/SIGTERM: draining/.test(server.output()) && !gone)
        await new Promise((resolve) => setTimeout(resolve, 20));
      probe.write("\r\n");
      await probeClosed;
      expect(status(probeAnswer), `${probeAnswer}\n---\n${server.output()}`).toBe(503);
      expect(probeAnswer).toMatch(/^connection: close\r$/im);
      expect(probeAnswer).toMatch(/draining/);
      const exit = await exited;
      const took = Date.now() - started;
      // The bound is 5 s; the margin is for a loaded machine's scheduling, not for draining.
      expect(took, server.output()).toBeLessThan(5_000 + 4_000);
      expect(exit).toMatchObject({ code: 0 });
      const during = seen.slice(before);
      // Exit code 0 above is the proof that draining worked: the clients went away (each
      // socket closed after its answer) and nothing had to be cut at the bound. Requests the
      // server took before it saw the signal finish as they began; any later one carries
      // Connection: close, and /healthz says 503 to it (the probe above always is one).
      const closing = during.filter((s) => s.connection === "close");
      for (const late of closing.filter((s) => s.path === "/healthz"))
        expect(late.status).toBe(503);
      expect(during.filter((s) => s.path !== "/healthz" && s.status !== 200)).toEqual([]);
    } finally {
      stop = true;
      await Promise.all(clients);
      agent.destroy();
      probe.destroy();
      await server.stop();
    }
  }, 60_000);

  it("a client that never finishes its request does not hold the exit past SHUTDOWN_TIMEOUT", async () => {
    const server = await startProductionServer(build, { ...env, SHUTDOWN_TIMEOUT: "1" });
    const socket = connect(server.port, "127.0.0.1");
    socket.on("error", () => undefined);
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write("GET / HTTP/1.1\r\nHost: app\r\n"); // and never the blank line
    // Answered on a connection accepted after that one: by then the server has read it.
    const control = await raw(
      server,
      "GET /healthz HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n",
    );
    expect(status(control)).toBe(200);
    const started = Date.now();
    const exit = await server.signal("SIGTERM");
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took, server.output()).toBeLessThan(1_000 + 4_000);
    expect(exit).toMatchObject({ code: 1 });
    expect(server.output()).toMatch(/still busy after 1 s/);
    socket.destroy();
  }, 30_000);
});
