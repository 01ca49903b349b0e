import { createWorkosMagicLinkAdapter } from "../../adapters/workos/magic-link.server";
import { workosHarness } from "./harnesses/workos";
import { runAdapterConformance } from "./suite";

for (const emailMode of ["workos", "app"] as const) {
  runAdapterConformance(
    workosHarness({
      name: "workos-magic-link",
      emailMode,
      proofKinds: ["callback"],
      // WorkOS cannot revoke an older passwordless session, so an older link's callback code
      // still redeems here; the strategy refuses it, because the link's `state` no longer
      // matches the pending-login cookie of the newer start (tests/flows).
      supersedes: false,
      build: (client, mailer) => createWorkosMagicLinkAdapter({ client, emailMode, mailer }),
    }),
  );
}
