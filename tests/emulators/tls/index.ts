/**
 * A self-signed certificate for 127.0.0.1 and localhost, for emulators that must speak https
 * (an adapter that builds `https://` addresses itself). Test use only: its key is public.
 *
 * `trustTestCertificate()` adds it to this process's default CA list, which `fetch` and
 * `https` use, and returns a function that puts the list back.
 */
import { readFileSync } from "node:fs";
import tls from "node:tls";

const here = new URL(".", import.meta.url);

export const testCertificate = {
  key: readFileSync(new URL("localhost.key", here), "utf8"),
  cert: readFileSync(new URL("localhost.crt", here), "utf8"),
};

export function trustTestCertificate(): () => void {
  const before = tls.getCACertificates("default");
  tls.setDefaultCACertificates([...before, testCertificate.cert]);
  return () => tls.setDefaultCACertificates(before);
}
