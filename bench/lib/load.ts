import autocannon from "autocannon";
import { paced, percentile } from "./paced.ts";

/** One autocannon run, reduced to what the table needs. */
export interface LoadResult {
  /** Completed requests per second over the whole run. */
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  /** Responses by status code, so a run that measured errors is caught. */
  statuses: Record<string, number>;
  errors: number;
  timeouts: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  /** Seconds; or `amount` requests. */
  duration?: number;
  amount?: number;
  /**
   * Requests per second over all connections, evenly spaced and open-loop (./paced.ts, which
   * says why not autocannon's overallRate); unset, every connection sends its next request
   * as soon as the last is answered (autocannon).
   */
  rate?: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Build each request (distinct addresses, fresh codes); `context` is per connection. */
  setup?: (request: autocannon.Request, context: Record<string, unknown>) => autocannon.Request;
  /** Sees each response with the context its request was built with. */
  onResponse?: autocannon.Request["onResponse"];
  /** The only status a correct answer has; any other fails the run. */
  expectStatus: number;
}

export async function load(options: LoadOptions): Promise<LoadResult> {
  if (options.rate) return loadAtRate(options, options.rate);
  const request: autocannon.Request = {
    method: options.method ?? "GET",
    headers: options.headers,
    body: options.body,
    ...(options.setup ? { setupRequest: options.setup } : {}),
    // The time of the last answer, for the throughput: autocannon's own duration ends on its
    // once-a-second tick, which would round every short run up to whole seconds.
    onResponse(status, body, context, headers) {
      lastAnswerAt = performance.now();
      options.onResponse?.(status, body, context, headers);
    },
  };
  let lastAnswerAt = 0;
  const startedAt = performance.now();
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    pipelining: 1,
    timeout: 30,
    ...(options.amount ? { amount: options.amount } : { duration: options.duration ?? 5 }),
    requests: [request],
  });
  const statuses = Object.fromEntries(
    Object.entries(result.statusCodeStats).map(([status, { count }]) => [status, count]),
  );
  const requests = check(options, statuses, result.errors, result.timeouts);
  return {
    rps: requests / ((lastAnswerAt - startedAt) / 1000),
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

/** The number of answers, once every one of them is the expected status. */
function check(
  options: LoadOptions,
  statuses: Record<string, number>,
  errors: number,
  timeouts: number,
): number {
  const requests = Object.values(statuses).reduce((sum, count) => sum + count, 0);
  const wrong = requests - (statuses[String(options.expectStatus)] ?? 0);
  if (wrong > 0 || errors > 0 || timeouts > 0) {
    throw new Error(
      `${options.method ?? "GET"} ${options.url}: expected only ${options.expectStatus}, got ${JSON.stringify(statuses)}, ${errors} errors, ${timeouts} timeouts`,
    );
  }
  return requests;
}

async function loadAtRate(options: LoadOptions, rate: number): Promise<LoadResult> {
  if (!options.amount) throw new Error("a run at a steady rate needs an amount");
  const result = await paced({
    url: options.url,
    connections: options.connections,
    rate,
    amount: options.amount,
    method: options.method ?? "GET",
    headers: options.headers,
    body: options.body,
    setup: options.setup,
    onResponse: options.onResponse,
    timeout: 30,
  });
  const requests = check(options, result.statuses, result.errors, result.timeouts);
  return {
    rps: requests / (result.elapsed / 1000),
    p50: percentile(result.latencies, 0.5),
    p99: percentile(result.latencies, 0.99),
    requests,
    statuses: result.statuses,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}
