import { withFallback } from "../../adapters/fallback";
import type { WorkosClient } from "../../adapters/workos/client.server";
import { createWorkosMagicAuthAdapter } from "../../adapters/workos/magic-auth.server";
import {
  createWorkosMagicLinkAdapter,
  type WorkosEmailMode,
} from "../../adapters/workos/magic-link.server";
import type { Outbox } from "../../app/mail/outbox.server";
import { workosHarness } from "./harnesses/workos";
import { runAdapterConformance } from "./suite";

/** `AUTH_ADAPTER=workos`: Magic Link, with Magic Auth when Magic Link is unavailable. */
const build = (client: WorkosClient, mailer: Outbox, emailMode: WorkosEmailMode) =>
  withFallback(
    createWorkosMagicLinkAdapter({ client, emailMode, mailer }),
    createWorkosMagicAuthAdapter({ client, emailMode, mailer }),
    { name: "workos" },
  );

for (const emailMode of ["workos", "app"] as const) {
  runAdapterConformance(
    workosHarness({
      name: "workos, primary works",
      emailMode,
      proofKinds: ["callback"],
      // As for workos-magic-link: the strategy's state check, not WorkOS, retires an older
      // link (tests/flows/workos-magic-link.test.ts).
      supersedes: false,
      build,
    }),
  );
  runAdapterConformance(
    workosHarness({
      name: "workos, primary down",
      emailMode,
      proofKinds: ["code"],
      supersedes: true,
      build,
      prepare: (emulator) =>
        emulator.failNext("/passwordless/sessions", { status: 503, times: Infinity }),
    }),
  );
}
