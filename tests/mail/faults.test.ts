/**
 * S32 against real relays that fail (tests/support/fault-smtp.ts): POST /login answers at
 * once whatever the relay does; transient faults end with the email delivered once the relay
 * recovers, and that code signs in; a 550 ends "failed" on the page; every attempt is bounded
 * by MAIL_SEND_TIMEOUT, not only its idle gaps. Deadlines and backoff are shortened here.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as check from "../../app/routes/login.check";
import * as login from "../../app/routes/login";
import { callRoute, CookieJar, createTestApp, getRequest, postForm } from "../support/auth";
import { waitForDelivery } from "../support/delivery";
import { faultRelaysPerTest } from "../support/fault-relays";
import type { SmtpFault } from "../support/fault-smtp";

/**
 * The deadline of one attempt. A POST /login that waited for the relay would take at least
 * this long against a relay that never answers (silent, drip, slow): its answer must come
 * sooner. Counted from the request, not the attempt, so a busy machine only eats the margin.
 */
const SEND_TIMEOUT_MS = 1_500;

const mail = faultRelaysPerTest();

beforeAll(async () => {
  // One untimed sign-in first: the timed ones measure the request, not a cold start.
  const warm = createTestApp();
  await callRoute(login.action, postForm("/login", { email: "warm-up@example.com" }));
  await warm.close();
});

async function setUp(fault: SmtpFault, replyDelayMs?: number) {
  const { relay, mailer } = await mail.relay(fault, { replyDelayMs });
  const app = mail.app({
    mailer,
    mailQueue: { sendTimeoutMs: SEND_TIMEOUT_MS, retry: { firstDelayMs: 150, maxDelayMs: 400 } },
  });
  return { relay, app };
}

/** POST /login in `jar`'s browser; how long the answer took. */
async function signIn(jar: CookieJar, email: string) {
  const started = performance.now();
  const result = await callRoute(login.action, postForm("/login", { email }, { cookie: jar }));
  const ms = performance.now() - started;
  jar.store(result);
  return { result, ms };
}

const TRANSIENT: Array<{ fault: SmtpFault; replyDelayMs?: number; cause: RegExp }> = [
  { fault: "down", cause: /^refused$/ },
  { fault: "silent", cause: /^timeout$/ },
  // One EHLO line every 150 ms: never idle long enough for an idle timeout, stopped by
  // the overall deadline.
  { fault: "drip-ehlo", replyDelayMs: 150, cause: /^timeout$/ },
  // Each reply well inside any idle timeout, the conversation longer than the deadline.
  { fault: "slow", replyDelayMs: 400, cause: /^timeout$/ },
  { fault: "451", cause: /^4xx:451$/ },
  { fault: "drop-mid-data", cause: /^(closed|reset)$/ },
];

describe("a relay that fails for a while, then recovers", () => {
  for (const { fault, replyDelayMs, cause } of TRANSIENT) {
    it(`${fault}: answered at once, 'still trying', then delivered, and the code signs in`, async () => {
      const { relay, app } = await setUp(fault, replyDelayMs);
      const jar = new CookieJar();
      const email = `${fault}@example.com`;
      const { result, ms } = await signIn(jar, email);
      expect(result.status).toBe(303);
      expect(result.location).toBe("/login/check");
      // Sooner than one attempt could end, though the relay answers nothing useful (S32, S13).
      expect(ms).toBeLessThan(SEND_TIMEOUT_MS);

      await waitForDelivery(jar, "retrying");
      const failure = app.mailEvents.find((e) => e.outcome === "retry");
      expect(failure?.cause).toMatch(cause);
      // Bounded by the deadline (drip and slow would go on far longer without it), with
      // slack for a busy machine's late timers.
      expect(failure?.ms).toBeLessThan(SEND_TIMEOUT_MS * 2);
      // A reload without JavaScript says the same.
      const page = await callRoute(check.loader, getRequest("/login/check", { cookie: jar }));
      expect(page.data).toMatchObject({ delivery: { state: "retrying" } });

      await relay.heal();
      const sent = await waitForDelivery(jar, "sent");
      expect(sent.sentAt).toBeDefined();
      const emailed = await mail.sink.waitForEmailTo(email, 10_000);
      expect(emailed.code).toMatch(/^\d{6}$/);
      // The same Message-ID on every attempt: a duplicate after an ambiguous failure is
      // recognisable as one.
      const id = app.mailEvents[0]?.id as string;
      expect(emailed.messageId).toBe(`<${id}@example.com>`);
      expect(app.mailEvents.filter((e) => e.outcome === "sent")).toHaveLength(1);
      const signedIn = await callRoute(
        check.action,
        postForm("/login/check", { code: emailed.code as string }, { cookie: jar }),
      );
      expect(signedIn.status).toBe(303);
      expect(signedIn.headers.getSetCookie().some((c) => c.startsWith("session="))).toBe(true);
    });
  }
});

describe("a relay that refuses the address", () => {
  it("550: not retried, and the page says it could not send", async () => {
    const { relay, app } = await setUp("550");
    const jar = new CookieJar();
    const { result, ms } = await signIn(jar, "nobody@example.com");
    expect(result.status).toBe(303);
    expect(ms).toBeLessThan(SEND_TIMEOUT_MS);
    const view = await waitForDelivery(jar, "failed");
    expect(view.settled).toBe(true);
    expect(relay.connections).toBe(1);
    expect(app.mailEvents).toMatchObject([{ outcome: "failed", cause: "5xx:550", attempt: 1 }]);
  });
});
