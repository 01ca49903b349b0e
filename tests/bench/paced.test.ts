/** The benchmark's latency runs (bench/lib/paced.ts): a steady, open-loop rate. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { paced, percentile } from "../../bench/lib/paced";

let server: http.Server | undefined;

/** A server on a free loopback port; `handle` answers each request. */
async function serve(handle: http.RequestListener): Promise<string> {
  server = http.createServer(handle);
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/path?q=1`;
}

afterEach(async () => {
  const running = server;
  server = undefined;
  if (!running) return;
  running.closeAllConnections();
  await new Promise((resolve) => running.close(resolve));
});

describe("paced load", () => {
  it("sends each request on connection i mod n, with the body its setup built", async () => {
    const seen: Array<{ port: number; url: string; body: string; method: string }> = [];
    const url = await serve((req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        seen.push({ port: req.socket.remotePort!, url: req.url!, body, method: req.method! });
        res.end("ok");
      });
    });
    let next = 0;
    const answers: string[] = [];
    const result = await paced({
      url,
      connections: 4,
      rate: 400,
      amount: 12,
      method: "POST",
      setup: (request) => ({ ...request, body: `n=${next++}` }),
      onResponse: (_status, body) => answers.push(body),
      timeout: 10,
    });
    expect(result.statuses).toEqual({ 200: 12 });
    expect(result.latencies).toHaveLength(12);
    expect(answers).toEqual(Array(12).fill("ok"));
    expect(new Set(seen.map((s) => s.url))).toEqual(new Set(["/path?q=1"]));
    expect(new Set(seen.map((s) => s.method))).toEqual(new Set(["POST"]));
    expect(seen.map((s) => s.body).sort()).toEqual(
      Array.from({ length: 12 }, (_, i) => `n=${i}`).sort(),
    );
    // Four connections, three requests each.
    const perConnection = new Map<number, number>();
    for (const { port } of seen) perConnection.set(port, (perConnection.get(port) ?? 0) + 1);
    expect([...perConnection.values()]).toEqual([3, 3, 3, 3]);
  });

  it("keeps sending while earlier requests wait, and times each from when it was due", async () => {
    // The server holds every request until the gate opens, 300 ms after the first one
    // arrived (so after it was due, however long the run took to start): a stall.
    const held: http.ServerResponse[] = [];
    let arrivedBeforeOpen = 0;
    let open = false;
    const gateMs = 300;
    let opened: (at: number) => void = () => {};
    const openedAt = new Promise<number>((resolve) => (opened = resolve));
    const url = await serve((_req, res) => {
      if (open) return void res.end("late");
      if (arrivedBeforeOpen++ === 0) {
        setTimeout(() => {
          open = true;
          for (const response of held) response.end("held");
          opened(performance.now());
        }, gateMs);
      }
      held.push(res);
    });
    const startedAt = performance.now();
    const result = await paced({
      url,
      connections: 5,
      rate: 100,
      amount: 20,
      method: "GET",
      timeout: 10,
    });
    await openedAt;
    // Open loop: each of the five connections had a request out during the stall (a closed
    // loop would have sent one request in all).
    expect(arrivedBeforeOpen).toBe(5);
    // The first request was due at once and answered only when the gate opened: its latency
    // is the whole stall. The fifth, due 40 ms later on another connection and answered in
    // the same moment, waited 40 ms less.
    expect(result.latencies[0]).toBeGreaterThanOrEqual(gateMs - 5);
    expect(result.latencies[0]!).toBeGreaterThan(result.latencies[4]!);
    // The sixth, due at 50 ms on the first connection, could only go out once that connection
    // was answered; it is timed from when it was due, not from when it went out.
    expect(result.latencies[5]).toBeGreaterThanOrEqual(gateMs - 50 - 5);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(gateMs - 5);
  });

  it("counts a connection that fails as an error, not an answer", async () => {
    const url = await serve((req) => req.socket.destroy());
    const result = await paced({
      url,
      connections: 2,
      rate: 200,
      amount: 4,
      method: "GET",
      timeout: 10,
    });
    expect(result.errors).toBe(4);
    expect(result.statuses).toEqual({});
  });

  it("reads percentiles by nearest rank", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 0.5)).toBe(50);
    expect(percentile(values, 0.99)).toBe(99);
    expect(percentile([7], 0.99)).toBe(7);
    expect(() => percentile([], 0.5)).toThrow(RangeError);
  });
});
