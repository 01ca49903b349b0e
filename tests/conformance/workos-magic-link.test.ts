import { createWorkosMagicLinkAdapter } from "../../adapters/workos/magic-link.server";
import { workosHarness } from "./harnesses/workos";
import { runAdapterConformance } from "./suite";

for (const emailMode of ["workos", "app"] as const) {
  runAdapterConformance(
    workosHarness({
      name: "workos-magic-link",
      emailMode,
      proofKinds: ["callback"],
      build: (client, mailer) => createWorkosMagicLinkAdapter({ client, emailMode, mailer }),
    }),
  );
}
