import http from "node:http";
import type autocannon from "autocannon";

/**
 * An open-loop load at a steady rate: request `i` is due at `i × 1000 / rate` ms, on
 * connection `i mod connections`, whether or not earlier answers have come back, and its
 * latency runs from when it was due, not from when it went out. A server that stalls is
 * charged for every request that waited behind the stall (no coordinated omission).
 *
 * Why not autocannon's `overallRate`: it gives each connection `rate ÷ connections` requests
 * per second and resets every connection's allowance on the same once-a-second tick, so at
 * 100 req/s over 50 connections all 50 send at once, then 50 more as soon as those are
 * answered, then nothing for the rest of the second: a burst of 100, not a steady rate. Its
 * latency histogram then corrects for coordinated omission with an expected interval of
 * `ceil(1 / perConnectionRate)` = 1 ms, recording a 100 ms answer as a hundred answers of
 * 100, 99, … 1 ms: long answers weigh in by their length. The figure was the time the last
 * of a burst waited, not what a person waits on a server at that load.
 */
export interface PacedOptions {
  url: string;
  connections: number;
  /** Requests per second over all connections. */
  rate: number;
  amount: number;
  method: string;
  headers?: Record<string, string>;
  body?: string;
  /** Builds each request, as for autocannon; `context` is the connection's own. */
  setup?: (request: autocannon.Request, context: Record<string, unknown>) => autocannon.Request;
  onResponse?: autocannon.Request["onResponse"];
  /** Seconds before an unanswered request counts as a timeout. */
  timeout: number;
}

export interface PacedResult {
  /** Latencies in ms, in the order the requests were due. */
  latencies: number[];
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
  /** ms from the first request's due time to the last answer. */
  elapsed: number;
}

export async function paced(options: PacedOptions): Promise<PacedResult> {
  const target = new URL(options.url);
  // One agent of one socket per connection: request i always goes to connection i mod n,
  // and a connection still busy when its next turn comes queues it, as a browser's would.
  const connections = Array.from({ length: options.connections }, () => ({
    agent: new http.Agent({ keepAlive: true, maxSockets: 1 }),
    context: {} as Record<string, unknown>,
  }));
  const interval = 1000 / options.rate;
  const latencies: number[] = new Array(options.amount);
  const statuses: Record<string, number> = {};
  let errors = 0;
  let timeouts = 0;
  let answered = 0;
  let lastAnswerAt = 0;

  const send = (i: number, dueAt: number, done: () => void) => {
    const connection = connections[i % connections.length]!;
    const base = {
      method: options.method,
      path: target.pathname + target.search,
      headers: options.headers,
      body: options.body,
    } as autocannon.Request;
    const request = options.setup ? options.setup(base, connection.context) : base;
    const body = request.body === undefined ? undefined : String(request.body);
    const headers: Record<string, string> = { ...(request.headers as Record<string, string>) };
    if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
    // Once per request, whichever of its events comes first (an answer, then a socket error,
    // must not count it twice and end the run early).
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      lastAnswerAt = performance.now();
      answered++;
      done();
    };
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: request.method ?? options.method,
        path: request.path ?? base.path,
        headers,
        agent: connection.agent,
        timeout: options.timeout * 1000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          latencies[i] = performance.now() - dueAt;
          const status = res.statusCode ?? 0;
          statuses[status] = (statuses[status] ?? 0) + 1;
          options.onResponse?.(
            status,
            Buffer.concat(chunks).toString(),
            connection.context,
            res.headers as Record<string, string | string[]>,
          );
          finish();
        });
        res.on("error", () => {
          errors++;
          finish();
        });
      },
    );
    req.on("timeout", () => {
      timeouts++;
      req.destroy(new Error("timeout"));
    });
    req.on("error", (error) => {
      if (error.message !== "timeout") errors++;
      finish();
    });
    req.end(body);
  };

  const startedAt = performance.now();
  await new Promise<void>((resolve) => {
    let next = 0;
    const done = () => {
      if (answered === options.amount) resolve();
    };
    // Sends everything due by now, then sleeps until the next one is due. A timer that fires
    // late sends the requests it owed at once, each still timed from its own due time.
    const tick = () => {
      const now = performance.now();
      while (next < options.amount && startedAt + next * interval <= now) {
        send(next, startedAt + next * interval, done);
        next++;
      }
      if (next < options.amount) {
        setTimeout(tick, Math.max(0, startedAt + next * interval - performance.now()));
      }
    };
    tick();
  });
  for (const { agent } of connections) agent.destroy();
  return {
    latencies: latencies.filter((value) => value !== undefined),
    statuses,
    errors,
    timeouts,
    elapsed: lastAnswerAt - startedAt,
  };
}

/** The value at or below which `fraction` of the list falls (nearest rank). */
export function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) throw new RangeError("percentile of nothing");
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(fraction * sorted.length));
  return sorted[rank - 1] as number;
}
