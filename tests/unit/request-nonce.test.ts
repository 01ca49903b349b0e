/** The request nonce's pool: one call to the CSPRNG per 4 KiB of nonces, none in between. */
import type * as NodeCrypto from "node:crypto";
import { describe, expect, it, vi } from "vitest";

// Every call for random bytes, counted.
const calls = vi.hoisted(() => ({ fills: 0, bytes: 0 }));
vi.mock("node:crypto", async (original) => {
  const crypto = await original<typeof NodeCrypto>();
  return {
    ...crypto,
    randomFillSync: <T extends NodeJS.ArrayBufferView>(buffer: T) => {
      calls.fills++;
      return crypto.randomFillSync(buffer);
    },
    randomBytes: (size: number) => {
      calls.bytes++;
      return crypto.randomBytes(size);
    },
  };
});
// Loaded afresh, with the counting crypto, even where an earlier test file in the same
// worker has loaded it already (the mutation run shares one).
vi.resetModules();
const { requestNonce } = await import("../../app/lib/crypto.server");

describe("request nonces", () => {
  it("fill their pool once per 256 nonces of 16 bytes, and take nothing else from the CSPRNG", () => {
    requestNonce();
    expect(calls).toEqual({ fills: 1, bytes: 0 });
    // The rest of the first 4 KiB: 255 more nonces, no new fill.
    for (let i = 0; i < 255; i++) requestNonce();
    expect(calls).toEqual({ fills: 1, bytes: 0 });
    requestNonce();
    expect(calls).toEqual({ fills: 2, bytes: 0 });
  });
});
