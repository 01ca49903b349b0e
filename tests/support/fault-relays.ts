/**
 * The set-up of a file of delivery tests against failing relays: one SMTP sink for the
 * file, and per test the relay, the mailer sending through it and the app built on them,
 * all closed after the test however it ended. Call at the top level of a test file.
 */
import { afterAll, afterEach, beforeAll } from "vitest";
import { SmtpMailer } from "../../app/mail/smtp.server";
import { createTestApp, type TestApp, type TestAppOptions } from "./auth";
import { startFaultSmtp, type FaultOptions, type FaultSmtp, type SmtpFault } from "./fault-smtp";
import { startSmtpSink, type SmtpSink } from "./smtp-sink";

export interface FaultRelays {
  /** Where a healed relay passes the email on to; started before the file's first test. */
  readonly sink: SmtpSink;
  /** A relay failing with `fault` in front of the sink, and a mailer that sends through it. */
  relay(
    fault: SmtpFault,
    options?: FaultOptions,
  ): Promise<{ relay: FaultSmtp; mailer: SmtpMailer }>;
  /** `createTestApp`, closed after the test. */
  app(options?: TestAppOptions): TestApp;
}

export function faultRelaysPerTest(): FaultRelays {
  let sink: SmtpSink | undefined;
  let relay: FaultSmtp | undefined;
  let mailer: SmtpMailer | undefined;
  let app: TestApp | undefined;
  beforeAll(async () => {
    sink = await startSmtpSink();
  });
  afterAll(() => sink?.close());
  afterEach(async () => {
    await app?.close();
    mailer?.close();
    await relay?.close();
    app = relay = mailer = undefined;
  });
  const started = (): SmtpSink => {
    if (!sink) throw new Error("the sink starts in beforeAll");
    return sink;
  };
  return {
    get sink() {
      return started();
    },
    async relay(fault, options) {
      relay = await startFaultSmtp(fault, started(), options);
      mailer = new SmtpMailer({ url: relay.url, from: "Sign in <login@example.com>" });
      return { relay, mailer };
    },
    app(options) {
      app = createTestApp(options);
      return app;
    },
  };
}
