import { randomBytes } from "node:crypto";
import { createLocalAdapter } from "../../adapters/local";
import type { EmailMessage, Mailer } from "../../app/mail/types";
import { Outbox } from "../../app/mail/outbox.server";
import { MemoryStore } from "../../app/store/memory.server";
import { appEmailProof } from "./harnesses/outbox";
import { runAdapterConformance } from "./suite";

runAdapterConformance({
  name: "local",
  proofKinds: ["link", "code"],
  ttlMs: 600_000,
  bindsLinkToBrowser: true,
  async setup() {
    let now = Date.UTC(2030, 0, 1);
    const clock = () => now;
    const outbox = new Outbox();
    let broken = false;
    const mailer: Mailer = {
      async send(message: EmailMessage) {
        if (broken) throw new Error("SMTP connection refused");
        await outbox.send(message);
      },
    };
    const store = new MemoryStore({ clock, sweepIntervalMs: 0 });
    const adapter = createLocalAdapter({ store, mailer, hashKey: randomBytes(32), clock });
    return {
      adapter,
      proof: async (email, kind) => appEmailProof(outbox, email, kind),
      advance(ms) {
        now += ms;
      },
      breakProvider() {
        broken = true;
      },
      teardown: () => store.close(),
    };
  },
});
