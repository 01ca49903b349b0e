import { createTestAdapter } from "../support/test-adapter";
import { runAdapterConformance } from "./suite";

// The kit's test adapter keeps the same contract as real adapters, so tests written
// against it hold when a real one is plugged in.
runAdapterConformance({
  name: "test adapter (tests/support)",
  proofKinds: ["link", "code"],
  ttlMs: 600_000,
  bindsLinkToBrowser: true,
  maxCodeAttempts: 5,
  supersedes: true,
  hasProvider: false,
  async setup() {
    let now = Date.UTC(2030, 0, 1);
    const adapter = createTestAdapter({ clock: () => now });
    return {
      adapter,
      async proof(email, kind) {
        const delivery = [...adapter.deliveries].reverse().find((d) => d.email === email);
        if (!delivery) return undefined;
        return kind === "link"
          ? { kind: "link", token: delivery.token }
          : { kind: "code", email, code: delivery.code };
      },
      advance(ms) {
        now += ms;
      },
      breakProvider() {
        adapter.breakProvider();
      },
    };
  },
});
