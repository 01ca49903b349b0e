/**
 * app/lib/client-address.server.ts: the TCP peer's address, read only from the header whose
 * per-process secret name server.js installed; nothing under any other server.
 */
import { afterEach, expect, it } from "vitest";
import { socketAddress } from "../../app/lib/client-address.server";

const KEY = Symbol.for("passwordless-starter.client-address-header");
const holder = globalThis as Record<symbol, unknown>;

afterEach(() => {
  delete holder[KEY];
});

const request = (headers: Record<string, string>) => new Request("http://app.test/", { headers });

it("reads the peer's address from the header server.js named", () => {
  holder[KEY] = "x-peer-3f9a";
  expect(socketAddress(request({ "x-peer-3f9a": "203.0.113.7" }))).toBe("203.0.113.7");
});

it("is undefined when the header is absent or empty", () => {
  holder[KEY] = "x-peer-3f9a";
  expect(socketAddress(request({ "x-other": "203.0.113.7" }))).toBeUndefined();
  expect(socketAddress(request({ "x-peer-3f9a": "" }))).toBeUndefined();
});

it("reads no header at all when server.js named none", () => {
  // Without a name, not even a header called "undefined" is read.
  expect(socketAddress(request({ undefined: "203.0.113.7" }))).toBeUndefined();
  holder[KEY] = 42;
  expect(socketAddress(request({ "42": "203.0.113.7" }))).toBeUndefined();
});
