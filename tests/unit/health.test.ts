/**
 * app/lib/health.server.ts alone: what /healthz answers, against a scripted store and mail
 * queue. 200 while the store answers, 503 when it does not (or not within 2 s) and while
 * the server drains (S33); the mail queue reported (degraded past a minute's backlog, or
 * when it does not answer within 1 s) but never failing the check.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { checkHealth } from "../../app/lib/health.server";
import { setServices, type Services } from "../../app/services.server";

const DRAINING = Symbol.for("passwordless-starter.draining");
const flags = globalThis as { [DRAINING]?: boolean };

const never = <T>() => new Promise<T>(() => {});

function install(options: {
  ping?: () => Promise<void>;
  health?: () => Promise<{ backlog: number; oldestAgeMs: number }>;
}) {
  setServices({
    store: { ping: options.ping ?? (async () => {}) },
    mailQueue: { health: options.health ?? (async () => ({ backlog: 0, oldestAgeMs: 0 })) },
  } as unknown as Services);
}

afterEach(() => {
  setServices(undefined);
  delete flags[DRAINING];
  vi.useRealTimers();
});

describe("/healthz", () => {
  it("is 200 with the store and the queue's backlog and oldest age in seconds", async () => {
    install({ health: async () => ({ backlog: 3, oldestAgeMs: 12_400 }) });
    expect(await checkHealth()).toEqual({
      status: 200,
      body: { status: "ok", store: "ok", mail: "ok", mailBacklog: 3, mailOldestAgeSeconds: 12 },
    });
  });

  it("reports the queue degraded once its oldest email has waited more than a minute, and stays 200", async () => {
    install({ health: async () => ({ backlog: 1, oldestAgeMs: 60_000 }) });
    expect((await checkHealth()).body.mail).toBe("ok");
    install({ health: async () => ({ backlog: 1, oldestAgeMs: 60_001 }) });
    expect(await checkHealth()).toEqual({
      status: 200,
      body: {
        status: "ok",
        store: "ok",
        mail: "degraded",
        mailBacklog: 1,
        mailOldestAgeSeconds: 60,
      },
    });
  });

  it("reports a queue that fails as degraded, and stays 200", async () => {
    install({
      health: async () => {
        throw new Error("redis down");
      },
    });
    expect(await checkHealth()).toEqual({
      status: 200,
      body: { status: "ok", store: "ok", mail: "degraded" },
    });
  });

  it("is 503 when the store fails, with the queue still reported", async () => {
    install({
      ping: async () => {
        throw new Error("store down");
      },
      health: async () => ({ backlog: 0, oldestAgeMs: 0 }),
    });
    expect(await checkHealth()).toEqual({
      status: 503,
      body: {
        status: "degraded",
        store: "unavailable",
        mail: "ok",
        mailBacklog: 0,
        mailOldestAgeSeconds: 0,
      },
    });
  });

  it("waits at most 1 s for the queue and 2 s for the store, both at once", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    install({ ping: never, health: never });
    let answer: Awaited<ReturnType<typeof checkHealth>> | undefined;
    void checkHealth().then((health) => {
      answer = health;
    });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(answer).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(answer).toEqual({
      status: 503,
      body: { status: "degraded", store: "unavailable", mail: "degraded" },
    });
  });

  it("gives the queue 1 s: a store that answers does not wait for a queue that does not", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    install({ health: never });
    let answer: Awaited<ReturnType<typeof checkHealth>> | undefined;
    void checkHealth().then((health) => {
      answer = health;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(answer).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(answer).toEqual({ status: 200, body: { status: "ok", store: "ok", mail: "degraded" } });
  });

  it("leaves no timer behind once both have answered, or failed", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    install({});
    await checkHealth();
    expect(vi.getTimerCount()).toBe(0);
    install({
      ping: async () => {
        throw new Error("store down");
      },
      health: async () => {
        throw new Error("queue down");
      },
    });
    await checkHealth();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("is 503 'draining' while the server shuts down, without asking the store", async () => {
    let asked = 0;
    install({
      ping: async () => {
        asked += 1;
      },
    });
    flags[DRAINING] = true;
    expect(await checkHealth()).toEqual({ status: 503, body: { status: "draining" } });
    expect(asked).toBe(0);
    // Only `true` drains.
    (flags as Record<symbol, unknown>)[DRAINING] = "yes";
    expect((await checkHealth()).status).toBe(200);
  });
});
