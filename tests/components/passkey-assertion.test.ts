import type { PublicKeyCredentialRequestOptionsJSON } from "@simplewebauthn/browser";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  cancelAssertion,
  fromBase64Url,
  getAssertion,
  signalUnknownCredential,
  toBase64Url,
} from "../../app/components/passkey-assertion";

/** Bytes whose base64 has "+", "/" and padding, so base64url's differences all show. */
const AWKWARD = new Uint8Array([0xfb, 0xff, 0xbf, 0x01]);
const bytes = (buffer: ArrayBuffer | BufferSource) =>
  [...new Uint8Array(buffer as ArrayBuffer)] as number[];

const OPTIONS: PublicKeyCredentialRequestOptionsJSON = {
  challenge: "-_-_AQ",
  rpId: "example.com",
  timeout: 300_000,
  userVerification: "preferred",
  allowCredentials: [{ id: "AQID", type: "public-key", transports: ["internal"] }],
};

/** What a browser's `navigator.credentials.get` resolves to for a passkey. */
function assertion(userHandle: ArrayBuffer | null) {
  return {
    id: "AQID",
    rawId: new Uint8Array([1, 2, 3]).buffer,
    type: "public-key",
    authenticatorAttachment: "platform",
    response: {
      clientDataJSON: new TextEncoder().encode('{"type":"webauthn.get"}').buffer,
      authenticatorData: AWKWARD.buffer,
      signature: new Uint8Array([0xff, 0xfe]).buffer,
      userHandle,
    },
    getClientExtensionResults: () => ({}),
  };
}

/** A stand-in for the browser's credentials API that records every request. */
function browser(answer: (options: CredentialRequestOptions) => Promise<unknown>) {
  const requests: CredentialRequestOptions[] = [];
  vi.stubGlobal("navigator", {
    credentials: {
      get: (options: CredentialRequestOptions) => {
        requests.push(options);
        return answer(options);
      },
    },
  });
  return requests;
}

/** A request that stays open until its signal aborts, as a passkey suggestion does. */
const pending = (options: CredentialRequestOptions) =>
  new Promise((_, reject) => {
    options.signal?.addEventListener("abort", () => reject(new Error("aborted")));
  });

afterEach(() => {
  cancelAssertion();
  vi.unstubAllGlobals();
});

describe("base64url", () => {
  it("encodes without padding, with - and _, and decodes with or without padding", () => {
    expect(toBase64Url(AWKWARD.buffer)).toBe("-_-_AQ");
    expect(bytes(fromBase64Url("-_-_AQ"))).toEqual([...AWKWARD]);
    expect(bytes(fromBase64Url("-_-_AQ=="))).toEqual([...AWKWARD]);
    expect(bytes(fromBase64Url(""))).toEqual([]);
  });
});

describe("getAssertion", () => {
  it("asks at once with the server's options in binary, and answers the JSON the server verifies", async () => {
    const requests = browser(async () => assertion(new Uint8Array([9, 9]).buffer));
    const answer = await getAssertion(OPTIONS, false);

    const [request] = requests;
    expect(request?.mediation).toBeUndefined();
    expect(bytes(request?.publicKey?.challenge as ArrayBuffer)).toEqual([...AWKWARD]);
    expect(request?.publicKey).toMatchObject({
      rpId: "example.com",
      timeout: 300_000,
      userVerification: "preferred",
    });
    const allowed = request?.publicKey?.allowCredentials ?? [];
    expect(allowed).toHaveLength(1);
    expect(allowed[0]).toMatchObject({ type: "public-key", transports: ["internal"] });
    expect(bytes(allowed[0]!.id)).toEqual([1, 2, 3]);
    expect(answer).toEqual({
      id: "AQID",
      rawId: "AQID",
      type: "public-key",
      response: {
        clientDataJSON: toBase64Url(new TextEncoder().encode('{"type":"webauthn.get"}').buffer),
        authenticatorData: "-_-_AQ",
        signature: "__4",
        userHandle: "CQk",
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    });
  });

  it("for the email field's suggestions, waits on conditional mediation with an empty allow list", async () => {
    const requests = browser(async () => assertion(null));
    const answer = await getAssertion(OPTIONS, true);
    expect(requests[0]?.mediation).toBe("conditional");
    expect(requests[0]?.publicKey?.allowCredentials).toEqual([]);
    expect(answer.response.userHandle).toBeUndefined();
  });

  it("rejects when the browser gives no credential", async () => {
    browser(async () => null);
    await expect(getAssertion(OPTIONS, false)).rejects.toThrow();
  });

  it("cancels the suggestions' request when the button starts one, and on cancelAssertion", async () => {
    const requests = browser(async (options) =>
      options.mediation === "conditional" ? pending(options) : assertion(null),
    );
    const suggestions = getAssertion(OPTIONS, true);
    await expect(getAssertion(OPTIONS, false)).resolves.toMatchObject({ id: "AQID" });
    await expect(suggestions).rejects.toThrow("aborted");
    expect(requests[0]?.signal?.aborted).toBe(true);
    expect(requests[1]?.signal?.aborted).toBe(false);

    const again = getAssertion(OPTIONS, true);
    cancelAssertion();
    await expect(again).rejects.toThrow("aborted");
  });
});

describe("signalUnknownCredential", () => {
  it("tells the browser which passkey of which site is unknown, where the Signal API exists", async () => {
    const signal = vi.fn(async () => {});
    vi.stubGlobal("PublicKeyCredential", { signalUnknownCredential: signal });
    await signalUnknownCredential("example.com", "AQID");
    expect(signal).toHaveBeenCalledWith({ rpId: "example.com", credentialId: "AQID" });

    vi.stubGlobal("PublicKeyCredential", {});
    await expect(signalUnknownCredential("example.com", "AQID")).resolves.toBeUndefined();
  });
});
