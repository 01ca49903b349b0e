/**
 * `npm run workos:emulator [-- --port 8787] [--sso-domain acme.test]… [--mfa required]`:
 * the WorkOS emulator by hand, for signing in offline with `AUTH_ADAPTER=workos`. It prints
 * the environment to use and every email "WorkOS" would have sent, with its link or code.
 * Each `--sso-domain` seeds an organization with that domain and an active SSO connection;
 * `--mfa required` makes every sign-in enroll or answer a TOTP factor.
 */
import { parseArgs } from "node:util";
import { startWorkosEmulator } from "./server";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8787" },
    host: { type: "string", default: "127.0.0.1" },
    "api-key": { type: "string", default: "sk_test_emulator" },
    "client-id": { type: "string", default: "client_emulator" },
    "sso-domain": { type: "string", multiple: true, default: [] },
    mfa: { type: "string", default: "optional" },
  },
});

if (values.mfa !== "optional" && values.mfa !== "required") {
  console.error(`--mfa must be optional or required, got ${values.mfa}`);
  process.exit(1);
}
const ssoDomains = (values["sso-domain"] ?? []).map((domain) => domain.toLowerCase());

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`--port must be a port number, got ${values.port}`);
  process.exit(1);
}

const emulator = await startWorkosEmulator({
  port,
  host: values.host,
  apiKey: values["api-key"],
  clientId: values["client-id"],
  mfa: values.mfa,
  organizations: ssoDomains.map((domain, i) => ({
    id: `org_emulator${i + 1}`,
    name: domain,
    domains: [domain],
  })),
  onEmail(email) {
    const what = email.link ? `link: ${email.link}` : `code: ${email.code}`;
    console.log(`[workos-emulator] email to ${email.to} (${email.kind}) ${what}`);
  },
});

console.log(`WorkOS emulator listening on ${emulator.url}

Run the app against it (in another terminal):

  AUTH_ADAPTER=workos \\
  WORKOS_API_URL=${emulator.env.WORKOS_API_URL} \\
  WORKOS_API_KEY=${emulator.env.WORKOS_API_KEY} \\
  WORKOS_CLIENT_ID=${emulator.env.WORKOS_CLIENT_ID} \\${
    ssoDomains.length > 0
      ? `
  WORKOS_SSO_DOMAINS=${ssoDomains.map((domain, i) => `${domain}:org_emulator${i + 1}`).join(",")} \\`
      : ""
  }
  npm run dev

Emails WorkOS would send are printed below; open the link, or type the code.
Press Ctrl+C to stop.
`);

const stop = () => {
  void emulator.close().then(() => process.exit(0));
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
