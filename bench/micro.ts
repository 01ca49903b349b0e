import { randomBytes } from "node:crypto";
import { Bench } from "tinybench";
import { createLocalAdapter } from "../adapters/local";
import type { AuthAdapter } from "../adapters/types";
import { createSessionManager } from "../app/auth/session.server";
import { sha256Hex } from "../app/lib/crypto.server";
import { composeMessage } from "../app/mail/mime";
import { Outbox } from "../app/mail/outbox.server";
import { renderSignInEmail } from "../app/mail/template";
import { MemoryStore } from "../app/store/memory.server";
import { readEmail } from "../tests/support/mail";

/** One micro-benchmark: time per operation, in microseconds. */
export interface MicroResult {
  name: string;
  /** Median time per operation, µs. */
  medianUs: number;
  meanUs: number;
  p99Us: number;
  samples: number;
}

/**
 * The hot paths on their own, in this process: the session read every protected page runs,
 * the local adapter's code check every sign-in runs, and the email every start sends. Anything not part of the
 * operation (building the Request, starting the sign-in whose code is checked) happens in
 * `beforeEach`, outside the timed function.
 */
export async function runMicroBenchmarks(timeMs = 1500): Promise<MicroResult[]> {
  const bench = new Bench({ time: timeMs, warmupTime: 300 });

  // Session read: parse the cookie, open its seal, check both expiries and the two
  // revocation keys in the store. A cookie the server has opened before is not deciphered
  // again (its plaintext is remembered), so both cases are measured.
  const secrets = [randomBytes(32).toString("base64url")];
  const sessionStore = new MemoryStore({ sweepIntervalMs: 0 });
  const sessions = createSessionManager({
    secrets,
    secure: false,
    maxAgeSeconds: 604_800,
    idleTimeoutSeconds: 86_400,
    store: sessionStore,
  });
  let users = 0;
  // Each a user of its own: one user's sessions past 50 would end the oldest.
  const newCookie = async () => {
    const { setCookie } = await sessions.create({
      id: `usr_${(users++).toString(16).padStart(32, "0")}`,
      adapter: "local",
    });
    return setCookie.split(";")[0] as string;
  };
  const reading = (cookie: () => string) => {
    let request: Request;
    return {
      run: async () => {
        const read = await sessions.read(request);
        if (!read.session) throw new Error("the session did not read back");
      },
      // A new Request each time: reads are cached per Request object.
      prepare: () => {
        request = new Request("http://127.0.0.1/dashboard", { headers: { Cookie: cookie() } });
      },
    };
  };
  const known = await newCookie();
  const again = reading(() => known);
  bench.add("session read, a cookie seen before (its plaintext remembered)", again.run, {
    beforeEach: again.prepare,
  });
  let fresh = "";
  const first = reading(() => fresh);
  bench.add("session read, a cookie opened for the first time", first.run, {
    async beforeEach() {
      fresh = await newCookie();
      first.prepare();
    },
  });

  // Local adapter verify: HMAC of the code, attempt counter, atomic consume, retire record.
  const store = new MemoryStore({ sweepIntervalMs: 0 });
  const outbox = new Outbox({ limit: 4 });
  const adapter: AuthAdapter = createLocalAdapter({
    store,
    mailer: outbox,
    hashKey: randomBytes(32),
  });
  let serial = 0;
  let pending = { email: "", code: "", ref: "", nonceHash: "" };
  bench.add(
    "local adapter verify (code)",
    async () => {
      const identity = await adapter.verify(
        { kind: "code", email: pending.email, code: pending.code },
        { ref: pending.ref, adapter: "local", nonceHash: pending.nonceHash },
      );
      if (identity.email !== pending.email) throw new Error("verified the wrong address");
    },
    {
      async beforeEach() {
        const email = `micro-${serial++}@example.com`;
        const nonceHash = sha256Hex(randomBytes(32).toString("base64url"));
        const started = await adapter.start(email, {
          linkUrl: "http://127.0.0.1/auth/link",
          callbackUrl: "http://127.0.0.1/auth/callback",
          state: "micro",
          nonceHash,
        });
        const message = outbox.latestTo(email);
        const code = message ? readEmail(message).code : undefined;
        if (!code) throw new Error(`no code for ${email}`);
        pending = { email, code, ref: started.ref, nonceHash };
      },
    },
  );

  // The sign-in email as it goes over SMTP (app/mail/mime.ts): headers, both bodies in
  // quoted-printable. The delivery worker does this once per start, in the server process.
  const email = renderSignInEmail({
    to: "micro@example.com",
    appName: "Passwordless Starter",
    link: `http://127.0.0.1/auth/link?token=${"t".repeat(43)}`,
    code: "246810",
    expiresInMinutes: 15,
  });
  bench.add("sign-in email composed (MIME)", () => {
    const raw = composeMessage({
      from: { name: "Passwordless Starter", address: "login@example.com" },
      to: email.to,
      subject: email.subject,
      text: email.text,
      html: email.html,
      messageId: "<0123456789abcdef0123456789abcdef@example.com>",
      date: new Date(),
    });
    if (!raw.includes("246810")) throw new Error("the code is not in the message");
  });

  await bench.run();
  await sessionStore.close();
  await store.close();
  return bench.tasks.map((task) => {
    const result = task.result;
    if (result.state !== "completed")
      throw new Error(
        `${task.name}: ${result.state}${"error" in result ? `: ${String(result.error)}` : ""}`,
      );
    return {
      name: task.name,
      medianUs: result.latency.p50 * 1000,
      meanUs: result.latency.mean * 1000,
      p99Us: result.latency.p99 * 1000,
      samples: result.latency.samplesCount ?? 0,
    };
  });
}
