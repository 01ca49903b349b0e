import { randomBytes } from "node:crypto";
import { createLocalAdapter } from "../../../adapters/local";
import type { Clock } from "../../../app/lib/clock";
import { Outbox } from "../../../app/mail/outbox.server";
import type { Mailer } from "../../../app/mail/types";
import type { Store } from "../../../app/store/types";
import type { ConformanceHarness, ConformanceSubject } from "../suite";
import { appEmailProof } from "./outbox";

/** The backend a local-adapter test runs on, made fresh for each test. */
export interface LocalBackend {
  store: Store;
  /** The mailer the adapter sends with; the harness's outbox when left out. */
  mailer?: Mailer;
  /** Make the backend fail from now on (see {@link ConformanceSubject.breakProvider}). */
  breakProvider(): void;
  faults?: ConformanceSubject["faults"];
  teardown(): Promise<void>;
}

/**
 * The conformance harness of the local adapter on one store backend: the adapter's promises
 * (link and code, ten minutes, bound to the browser, five wrong codes, supersession, no
 * provider) are the same on every store, so only the backend differs from file to file.
 * `backend` gets the test's hand-driven clock and the outbox the email lands in.
 */
export function localHarness(options: {
  name: string;
  backend(deps: { clock: Clock; outbox: Outbox }): LocalBackend;
}): ConformanceHarness {
  return {
    name: options.name,
    proofKinds: ["link", "code"],
    ttlMs: 600_000,
    bindsLinkToBrowser: true,
    maxCodeAttempts: 5,
    supersedes: true,
    // Its only backends are the store and the mailer; each file breaks its own.
    hasProvider: false,
    async setup() {
      let now = Date.UTC(2030, 0, 1);
      const clock = () => now;
      const outbox = new Outbox();
      const backend = options.backend({ clock, outbox });
      const adapter = createLocalAdapter({
        store: backend.store,
        mailer: backend.mailer ?? outbox,
        hashKey: randomBytes(32),
        clock,
      });
      return {
        adapter,
        proof: async (email, kind) => appEmailProof(outbox, email, kind),
        advance(ms) {
          now += ms;
        },
        breakProvider: () => backend.breakProvider(),
        faults: backend.faults,
        teardown: () => backend.teardown(),
      };
    },
  };
}
