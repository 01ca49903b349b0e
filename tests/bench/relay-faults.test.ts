/** The benchmark's relay-fault rows: POST /login's p99 judged against its target, per relay. */
import { describe, expect, it } from "vitest";
import { relayFaultRows } from "../../bench/lib/relay-faults";
import type { Measured } from "../../bench/lib/rounds";

const run = (p99: number): Measured => ({
  rps: 100,
  p50: 10,
  p99,
  requests: 400,
  statuses: { 303: 400 },
  errors: 0,
  timeouts: 0,
  cpuMs: 400,
  cpuMsPerRequest: 1,
  loadAverage: 0.5,
});

describe("relay-fault rows of npm run bench", () => {
  it("judges each failing relay's median p99 against the target; the working relay is only the comparison", () => {
    const rows = relayFaultRows(
      {
        runs: {
          "login-relay-ok": [run(900), run(950)],
          "login-relay-down": [run(150), run(190), run(400)],
          "login-relay-drip": [run(199), run(201), run(250)],
        },
      },
      200,
    );
    const p99 = rows.filter((row) => row.figure.endsWith("p99, ms"));
    expect(p99.map((row) => [row.figure, row.median, row.target, row.met])).toEqual([
      ["POST /login, relay works, p99, ms", "925", "", undefined],
      ["POST /login, relay down, p99, ms", "190", "≤ 200", true],
      ["POST /login, relay drips, p99, ms", "201", "≤ 200", false],
    ]);
  });
});
