/**
 * Loaded with `node --import` before the production server build, when a journey needs the
 * per-address send spacing shorter than its production 60 s (S11): a journey that sends a
 * second email to the same address within a minute ("send it again" after a 3-second link
 * expired, "email me a code instead" after a scanner used the link) would otherwise be
 * throttled, silently by design (S13), and wait a minute for nothing.
 *
 * It installs the app's own services, built from the same environment by the same factory,
 * with only the limits replaced (the override seam `createServices` offers tests and custom
 * servers); the built routes find them through `getServices()`, which reads globalThis.
 * Every other budget (per-address hourly, per-IP, lockout) keeps its production value.
 */
import { createSignInLimits } from "../../../app/auth/limits.server";
import { parseConfig } from "../../../app/config.server";
import { createServices, setServices } from "../../../app/services.server";

const spacing = Number(process.env.E2E_EMAIL_SPACING_SECONDS);
if (!Number.isInteger(spacing) || spacing < 0) {
  throw new Error(
    `E2E_EMAIL_SPACING_SECONDS must be a whole number of seconds, got ${process.env.E2E_EMAIL_SPACING_SECONDS}`,
  );
}
const config = parseConfig(process.env);
setServices(
  createServices(config, {
    limits: createSignInLimits({
      backend: { kind: "memory" },
      ipPerHour: config.rateLimitIpPerHour,
      emailSpacingSeconds: spacing,
    }),
  }),
);
