/**
 * POST /login while the relay fails (issue 14): one starter behind a relay with nothing
 * listening, one behind a relay that drips its EHLO answer a line every 8 s, and for
 * comparison one whose relay works (the SMTP sink). The request only records the email; the
 * delivery worker in the same process meanwhile retries every queued one (connections
 * refused at once, or held until MAIL_SEND_TIMEOUT), so what is measured is the answer time
 * with that work going on beside it. On a busy machine the working relay's figure says how
 * much of a tail is the machine's.
 */
import { startFaultSmtp, type FaultSmtp, type SmtpFault } from "../../tests/support/fault-smtp";
import type { SmtpSink } from "../../tests/support/smtp-sink";
import { load, type LoadResult } from "./load";
import type { Plan } from "./plan";
import { runRounds, type Measured, type Target } from "./rounds";
import type { Server } from "./servers";
import { distinctLogins, takeMessages, waitForDeliveries } from "./signin";
import { summarise } from "./stats";

/** The relays, each in front of a starter of its own. */
const FAULTS: ReadonlyArray<{ id: string; fault?: SmtpFault; label: string; dripMs?: number }> = [
  { id: "login-relay-ok", label: "relay works" },
  { id: "login-relay-down", fault: "down", label: "relay down" },
  // The issue's case: one EHLO line every 8 s once held POST /login for 80 s.
  { id: "login-relay-drip", fault: "drip-ehlo", label: "relay drips", dripMs: 8_000 },
];

export interface RelayFaultsResult {
  runs: Record<string, Measured[]>;
}

/** A row of the report (the shape of run.ts's table rows). */
export interface RelayFaultRow {
  figure: string;
  median: string;
  range: string;
  cpu: string;
  target: string;
  met?: boolean;
}

/**
 * A phase of its own (BENCH_ONLY=relay): the two starters run only here, so their delivery
 * workers' retries never run beside another phase's figures.
 */
export async function measureRelayFaults(
  plan: Plan,
  sink: SmtpSink,
  startStarter: (name: string, env: Record<string, string>) => Promise<Server>,
  say: (line: string) => void,
): Promise<RelayFaultsResult> {
  say(
    `· relay faults: POST /login with the relay down, and with one that drips EHLO a line every 8 s, ` +
      `${plan.pacedRate} req/s over ${plan.connections} connections (production retry settings, MAIL_SEND_TIMEOUT 15 s)`,
  );
  const relays: FaultSmtp[] = [];
  const servers: Server[] = [];
  try {
    const targets: Target[] = [];
    for (const { id, fault, dripMs } of FAULTS) {
      const relay = fault && (await startFaultSmtp(fault, sink, { replyDelayMs: dripMs }));
      if (relay) relays.push(relay);
      const server = await startStarter(`starter-${id}`, {
        MAIL_TRANSPORT: "smtp",
        SMTP_URL: relay ? relay.url : sink.url,
        MAIL_FROM: "Bench <bench@example.com>",
      });
      servers.push(server);
      let run = 0;
      targets.push({
        id,
        server,
        run: () =>
          load({
            url: `${server.origin}/login`,
            connections: plan.connections,
            // A latency figure: at a steady rate, as the rounds' paced runs (see Plan).
            amount: plan.pacedAmount,
            rate: plan.pacedRate,
            method: "POST",
            expectStatus: 303,
            setup: distinctLogins(server, `${id}${++run}`),
          }),
        // Through a working relay every email goes out within the measurement, as for the
        // rounds' POST /login.
        ...(fault
          ? {}
          : {
              settle: async (result: LoadResult) => {
                await waitForDeliveries(sink, `${id}${run}-`, result.requests);
                takeMessages(sink, `${id}${run}-`);
              },
            }),
      });
    }
    const runs = await runRounds(targets, plan.rounds, (round, measured) => {
      const cells = [...measured]
        .map(([id, m]) => `${id} ${m.rps.toFixed(0)}/s p99 ${m.p99.toFixed(0)} ms`)
        .join(" · ");
      say(`  ${round === 0 ? "warm-up" : `round ${round}`}: ${cells}`);
    });
    const through = (id: string) => sink.messages.filter((m) => m.to.startsWith(id)).length;
    for (const { id, fault } of FAULTS) {
      if (fault && through(id) > 0) throw new Error(`${through(id)} emails got through ${id}`);
    }
    return { runs: Object.fromEntries(runs) };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await Promise.all(relays.map((relay) => relay.close()));
  }
}

/** The phase's rows: p50, and p99 against `p99TargetMs`. */
export function relayFaultRows(result: RelayFaultsResult, p99TargetMs: number): RelayFaultRow[] {
  const rows: RelayFaultRow[] = [];
  for (const { id, label, fault } of FAULTS) {
    const runs = result.runs[id];
    if (!runs?.length) continue;
    const p50 = summarise(runs.map((r) => r.p50));
    const p99 = summarise(runs.map((r) => r.p99));
    const range = (s: typeof p50) => `${s.min.toFixed(0)}–${s.max.toFixed(0)}`;
    const cpu = summarise(runs.map((r) => r.cpuMsPerRequest));
    rows.push({
      figure: `POST /login, ${label}, p50, ms`,
      median: p50.median.toFixed(0),
      range: range(p50),
      cpu: `${cpu.median.toFixed(3)} (${cpu.min.toFixed(3)}–${cpu.max.toFixed(3)})`,
      target: "",
    });
    rows.push({
      figure: `POST /login, ${label}, p99, ms`,
      median: p99.median.toFixed(0),
      range: range(p99),
      cpu: "",
      // The working relay is the comparison, not a target.
      ...(fault ? { target: `≤ ${p99TargetMs}`, met: p99.median <= p99TargetMs } : { target: "" }),
    });
  }
  return rows;
}
