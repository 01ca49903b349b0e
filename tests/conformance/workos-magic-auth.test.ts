import { createWorkosMagicAuthAdapter } from "../../adapters/workos/magic-auth.server";
import { workosHarness } from "./harnesses/workos";
import { runAdapterConformance } from "./suite";

for (const emailMode of ["workos", "app"] as const) {
  runAdapterConformance(
    workosHarness({
      name: "workos-magic-auth",
      emailMode,
      proofKinds: ["code"],
      supersedes: true,
      build: (client, mailer) => createWorkosMagicAuthAdapter({ client, emailMode, mailer }),
    }),
  );
}
