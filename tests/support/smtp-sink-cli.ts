/**
 * `npm run mail:sink`: a local SMTP server for trying the production build with
 * MAIL_TRANSPORT=smtp. It keeps nothing on disk and prints each email it receives.
 */
import { startSmtpSink } from "./smtp-sink";

const port = Number(process.env.MAIL_SINK_PORT ?? 2525);
const sink = await startSmtpSink({
  port,
  onMessage(message) {
    const lines = [
      `from:    ${message.from}`,
      `to:      ${message.to}`,
      `subject: ${message.subject}`,
      ...(message.link ? [`link:    ${message.link}`] : []),
      ...(message.code ? [`code:    ${message.code}`] : []),
    ];
    console.log(`\n${lines.join("\n")}`);
  },
});
console.log(`SMTP sink on ${sink.url}: set SMTP_URL=${sink.url} (Ctrl-C stops it)`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void sink.close().then(() => process.exit(0)));
}
