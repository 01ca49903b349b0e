/**
 * app/lib/log.server.ts: one JSON line per sign-in event on stdout (S28), and the hash that
 * stands for an address in it: enough to correlate, not to read.
 */
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { hashEmail, jsonLogger } from "../../app/lib/log.server";
import { systemClock } from "../../app/lib/clock";

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe("the auth log", () => {
  it("writes each event as one JSON line with its time and type", () => {
    vi.useFakeTimers({ toFake: ["Date"], now: Date.UTC(2026, 4, 6, 7, 8, 9, 10) });
    const lines: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    jsonLogger({ step: "start", outcome: "sent", emailHash: "0123456789abcdef" });
    expect(lines).toEqual([
      `${JSON.stringify({
        time: "2026-05-06T07:08:09.010Z",
        type: "auth",
        step: "start",
        outcome: "sent",
        emailHash: "0123456789abcdef",
      })}\n`,
    ]);
  });

  it("stands for an address by the first 16 hex digits of its SHA-256", () => {
    const full = createHash("sha256").update("ada@example.com").digest("hex");
    expect(hashEmail("ada@example.com")).toBe(full.slice(0, 16));
    expect(hashEmail("ada@example.com")).toMatch(/^[0-9a-f]{16}$/);
    expect(hashEmail("grace@example.com")).not.toBe(hashEmail("ada@example.com"));
  });
});

describe("the system clock", () => {
  it("is the time now, in milliseconds since the epoch", () => {
    vi.useFakeTimers({ toFake: ["Date"], now: 1_234_567 });
    expect(systemClock()).toBe(1_234_567);
  });
});
