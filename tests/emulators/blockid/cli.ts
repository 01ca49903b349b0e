/**
 * `npm run blockid:emulator`: the BlockID emulator by hand, for signing in offline with
 * `AUTH_ADAPTER=blockid`. It prints the environment to start the app with and every email
 * "BlockID" would have sent, with its link. Its clock follows the wall clock, so links
 * expire as they would at BlockID.
 */
import { parseArgs } from "node:util";
import { startBlockIdEmulator } from "./server";

const { values } = parseArgs({
  options: {
    dns: { type: "string", default: "blockid.test" },
    community: { type: "string", default: "default" },
    "license-key": { type: "string", default: "emulator-license-key" },
  },
});

const emulator = await startBlockIdEmulator({
  dns: values.dns,
  community: values.community,
  licenseKey: values["license-key"],
});

console.log(`BlockID emulator listening on ${emulator.url}

Run the app against it (in another terminal):

  AUTH_ADAPTER=blockid \\
  BLOCKID_DNS=${emulator.dns} \\
  BLOCKID_COMMUNITY=${emulator.community} \\
  BLOCKID_LICENSE_KEY=${emulator.licenseKey} \\
  BLOCKID_BASE_URL=${emulator.url} \\
  npm run dev

Emails BlockID would send are printed below; open the link and press Continue.
Press Ctrl+C to stop.
`);

// The emulator keeps its own clock (tests move it by hand); here it follows real time.
let last = Date.now();
let printed = 0;
const tick = setInterval(() => {
  const now = Date.now();
  emulator.advance(now - last);
  last = now;
  for (; printed < emulator.emails.length; printed += 1) {
    const email = emulator.emails[printed];
    if (email) console.log(`[blockid-emulator] email to ${email.to}: ${email.link}`);
  }
}, 200);

const stop = () => {
  clearInterval(tick);
  void emulator.close().then(() => process.exit(0));
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
