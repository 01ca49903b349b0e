import { createBlockIdAdapter } from "../../adapters/blockid/index";
import { startBlockIdEmulator } from "../emulators/blockid/server";
import { runAdapterConformance } from "./suite";

runAdapterConformance({
  name: "blockid",
  proofKinds: ["link"],
  ttlMs: 600_000,
  bindsLinkToBrowser: true,
  supersedes: true,
  hasProvider: true,
  async setup() {
    let now = Date.UTC(2030, 0, 1);
    const emulator = await startBlockIdEmulator({ now });
    const adapter = createBlockIdAdapter({
      dns: emulator.dns,
      community: emulator.community,
      licenseKey: emulator.licenseKey,
      baseUrl: emulator.url,
      ttlSeconds: 600,
      timeoutMs: 2_000,
      clock: () => now,
    });
    return {
      adapter,
      async proof(email, kind) {
        const sent = emulator.lastEmailTo(email);
        const token = sent ? new URL(sent.link).searchParams.get("token") : null;
        return kind === "link" && token ? { kind: "link", token } : undefined;
      },
      advance(ms) {
        now += ms;
        emulator.advance(ms);
      },
      breakProvider() {
        emulator.fault("all", "error");
      },
      rateLimitProvider(seconds) {
        emulator.fault("all", { status: 429, headers: { "Retry-After": String(seconds) } });
      },
      faults: {
        unreachable: () => emulator.fault("all", "unreachable"),
        "a malformed answer": () => emulator.fault("all", "malformed"),
        "HTTP 401": () => emulator.fault("all", { status: 401 }),
        "HTTP 503 with a body that is not JSON": () =>
          emulator.fault("all", { status: 503, body: "<html>busy</html>" }),
      },
      teardown: () => emulator.close(),
    };
  },
});
