/**
 * The passkey ceremonies and the person's list (app/auth/passkeys.server.ts) against a
 * software authenticator that signs as a real one does: S29 and S30, case by case.
 */
import { generateKeyPairSync } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createPasskeys,
  MAX_PASSKEYS_PER_USER,
  passkeyFailureReason,
  type PasskeyOwner,
  type Passkeys,
} from "../../app/auth/passkeys.server";
import { MemoryStore } from "../../app/store/memory.server";
import { SoftwareAuthenticator } from "../support/authenticator";
import { createTestClock, type TestClock } from "../support/clock";

const ORIGIN = "http://localhost:5173";
const ADA: PasskeyOwner = { id: "user_ada", email: "ada@example.com" };
const BOB: PasskeyOwner = { id: "user_bob", email: "bob@example.com" };
const ADA_SESSION = "session-of-ada-0000000000000000";
const BOB_SESSION = "session-of-bob-0000000000000000";
const BROWSER = "0123456789abcdef0123456789abcdef";

let clock: TestClock;
let store: MemoryStore;
let passkeys: Passkeys;
let device: SoftwareAuthenticator;

beforeEach(() => {
  clock = createTestClock();
  store = new MemoryStore({ clock, sweepIntervalMs: 0 });
  passkeys = createPasskeys({
    store,
    clock,
    appOrigin: ORIGIN,
    rpName: "Passwordless Starter",
    userHandleKey: Buffer.alloc(32, 7),
  });
  device = new SoftwareAuthenticator({ origin: ORIGIN });
});
afterEach(() => store.close());

/** Add a passkey for `user` from `authenticator`, as the account page does. */
async function addPasskey(
  user = ADA,
  sessionId = ADA_SESSION,
  authenticator = device,
  name?: string,
) {
  const options = await passkeys.registrationOptions(sessionId, user);
  return passkeys.register(sessionId, user, authenticator.register(options), {
    name,
    defaultName: "Chrome on Linux",
  });
}

/** Ask for sign-in options in BROWSER and sign them with `authenticator`. */
async function signIn(authenticator = device, overrides = {}) {
  const options = await passkeys.authenticationOptions(BROWSER);
  return passkeys.authenticate(BROWSER, authenticator.assert(options, overrides));
}

/** The reason a promise was refused with. */
async function refusal(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return passkeyFailureReason(error) ?? String(error);
  }
  throw new Error("expected the passkey to be refused");
}

describe("registration", () => {
  it("asks for a discoverable credential with user verification preferred, for APP_ORIGIN's host", async () => {
    const options = await passkeys.registrationOptions(ADA_SESSION, ADA);
    expect(options.rp.id).toBe("localhost");
    expect(options.authenticatorSelection).toMatchObject({
      residentKey: "required",
      requireResidentKey: true,
      userVerification: "preferred",
    });
    expect(options.attestation).toBe("none");
    // The authenticator keeps an opaque handle, not the user id or the address.
    expect(options.user.id).not.toContain("ada");
    expect(Buffer.from(options.user.id, "base64url").toString()).not.toContain(ADA.id);
    expect(options.user.id).toBe(passkeys.userHandle(ADA.id));
  });

  it("keeps the credential with its name, creation time and no use yet", async () => {
    const added = await addPasskey(ADA, ADA_SESSION, device, "  My   laptop\n");
    expect(added).toMatchObject({ name: "My laptop", createdAt: clock(), lastUsedAt: null });
    expect(await passkeys.list(ADA.id)).toEqual([added]);
    const other = await addPasskey(ADA, ADA_SESSION, new SoftwareAuthenticator({ origin: ORIGIN }));
    expect(other.name).toBe("Chrome on Linux");
  });

  it("excludes the person's existing credentials from a new registration", async () => {
    await addPasskey();
    const options = await passkeys.registrationOptions(ADA_SESSION, ADA);
    expect(options.excludeCredentials?.map((c) => c.id)).toEqual([device.credentials[0]?.id]);
  });

  it("S29: a registration challenge works once", async () => {
    const options = await passkeys.registrationOptions(ADA_SESSION, ADA);
    const response = device.register(options);
    await passkeys.register(ADA_SESSION, ADA, response, { defaultName: "x" });
    expect(await refusal(passkeys.register(ADA_SESSION, ADA, response, { defaultName: "x" }))).toBe(
      "no_challenge",
    );
  });

  it("S29: a registration challenge is bound to the session that asked", async () => {
    const options = await passkeys.registrationOptions(ADA_SESSION, ADA);
    const response = device.register(options);
    expect(
      await refusal(passkeys.register("another-session", ADA, response, { defaultName: "x" })),
    ).toBe("no_challenge");
    expect(await passkeys.list(ADA.id)).toEqual([]);
  });

  it("S29: a registration challenge expires after five minutes", async () => {
    const options = await passkeys.registrationOptions(ADA_SESSION, ADA);
    clock.advance(5 * 60_000 + 1);
    expect(
      await refusal(
        passkeys.register(ADA_SESSION, ADA, device.register(options), { defaultName: "x" }),
      ),
    ).toBe("no_challenge");
  });

  it("S29: a registration made for another origin or RP ID is refused", async () => {
    for (const overrides of [{ origin: "https://evil.example" }, { rpId: "evil.example" }]) {
      const options = await passkeys.registrationOptions(ADA_SESSION, ADA);
      const response = device.register(options, overrides);
      expect(
        await refusal(passkeys.register(ADA_SESSION, ADA, response, { defaultName: "x" })),
      ).toBe("not_verified");
    }
    expect(await passkeys.list(ADA.id)).toEqual([]);
  });

  it("refuses an authenticator that will not keep a discoverable credential", async () => {
    const securityKey = new SoftwareAuthenticator({ origin: ORIGIN, residentKey: false });
    expect(await refusal(addPasskey(ADA, ADA_SESSION, securityKey))).toBe("not_discoverable");
  });

  it(`keeps at most ${MAX_PASSKEYS_PER_USER} per person`, async () => {
    for (let i = 0; i < MAX_PASSKEYS_PER_USER; i++) {
      await addPasskey(ADA, ADA_SESSION, new SoftwareAuthenticator({ origin: ORIGIN }));
    }
    expect(await refusal(passkeys.registrationOptions(ADA_SESSION, ADA))).toBe("limit");
    expect(await passkeys.list(ADA.id)).toHaveLength(MAX_PASSKEYS_PER_USER);
  });

  it("refuses an addition beyond the limit that passed the check before (two tabs at once)", async () => {
    for (let i = 0; i < MAX_PASSKEYS_PER_USER - 1; i++) {
      await addPasskey(ADA, ADA_SESSION, new SoftwareAuthenticator({ origin: ORIGIN }));
    }
    const [first, second] = [
      new SoftwareAuthenticator({ origin: ORIGIN }),
      new SoftwareAuthenticator({ origin: ORIGIN }),
    ];
    const a = await passkeys.registrationOptions(ADA_SESSION, ADA);
    const b = await passkeys.registrationOptions(ADA_SESSION, ADA);
    await passkeys.register(ADA_SESSION, ADA, first.register(a), { defaultName: "a" });
    expect(
      await refusal(passkeys.register(ADA_SESSION, ADA, second.register(b), { defaultName: "b" })),
    ).toBe("limit");
    expect(await passkeys.list(ADA.id)).toHaveLength(MAX_PASSKEYS_PER_USER);
  });

  it("S30: a credential id already kept for one person cannot be registered for another", async () => {
    await addPasskey(ADA);
    // Bob's browser replays Ada's credential (same id, Bob's own key) against his own challenge.
    const options = await passkeys.registrationOptions(BOB_SESSION, BOB);
    const forged = device.register(options);
    const adaId = device.credentials[0]?.id as string;
    const rewritten = rewriteCredentialId(forged, adaId);
    expect(
      await refusal(passkeys.register(BOB_SESSION, BOB, rewritten, { defaultName: "x" })),
    ).toBe("already_registered");
    expect(await passkeys.list(BOB.id)).toEqual([]);
    // Ada's passkey still signs Ada in.
    const adaCredential = device.credentials[0]?.id as string;
    expect(await signIn(device, { credentialId: adaCredential })).toBe(ADA.id);
  });
});

describe("sign-in", () => {
  it("signs in the person the passkey was registered to, and records the use", async () => {
    const added = await addPasskey();
    clock.advance(60_000);
    expect(await signIn()).toBe(ADA.id);
    const [listed] = await passkeys.list(ADA.id);
    expect(listed).toMatchObject({ handle: added.handle, lastUsedAt: clock() });
  });

  it("asks for any discoverable credential: the options name no account", async () => {
    await addPasskey();
    const options = await passkeys.authenticationOptions(BROWSER);
    expect(options.allowCredentials ?? []).toEqual([]);
    expect(options.rpId).toBe("localhost");
    expect(options.userVerification).toBe("preferred");
  });

  it("S29: replaying a used assertion is refused", async () => {
    await addPasskey();
    const options = await passkeys.authenticationOptions(BROWSER);
    const assertion = device.assert(options);
    await passkeys.authenticate(BROWSER, assertion);
    expect(await refusal(passkeys.authenticate(BROWSER, assertion))).toBe("no_challenge");
  });

  it("S29: a challenge asked for by another browser is refused", async () => {
    await addPasskey();
    const options = await passkeys.authenticationOptions("ffffffffffffffffffffffffffffffff");
    expect(await refusal(passkeys.authenticate(BROWSER, device.assert(options)))).toBe(
      "no_challenge",
    );
  });

  it("S29: a challenge the server never issued is refused", async () => {
    await addPasskey();
    await passkeys.authenticationOptions(BROWSER);
    const made = device.assert({ challenge: Buffer.alloc(32, 1).toString("base64url") });
    expect(await refusal(passkeys.authenticate(BROWSER, made))).toBe("no_challenge");
  });

  it("S29: an expired challenge is refused", async () => {
    await addPasskey();
    const options = await passkeys.authenticationOptions(BROWSER);
    clock.advance(5 * 60_000 + 1);
    expect(await refusal(passkeys.authenticate(BROWSER, device.assert(options)))).toBe(
      "no_challenge",
    );
  });

  it("S29: an assertion made on another origin is refused", async () => {
    await addPasskey();
    expect(await refusal(signIn(device, { origin: "https://localhost.evil.example" }))).toBe(
      "not_verified",
    );
  });

  it("S29: an assertion made for another RP ID is refused", async () => {
    await addPasskey();
    expect(await refusal(signIn(device, { rpId: "evil.example" }))).toBe("not_verified");
  });

  it("refuses a registration response offered as a sign-in", async () => {
    await addPasskey();
    expect(await refusal(signIn(device, { type: "webauthn.create" }))).toBe("not_verified");
  });

  it("refuses a signature made with another key", async () => {
    await addPasskey();
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    expect(await refusal(signIn(device, { signWith: privateKey }))).toBe("not_verified");
  });

  it("S30: a sign counter that goes backwards is refused as a possible clone", async () => {
    await addPasskey();
    await signIn(device, { counter: 5 });
    expect(await refusal(signIn(device, { counter: 3 }))).toBe("counter_regression");
    expect(await refusal(signIn(device, { counter: 5 }))).toBe("counter_regression");
    // The refused ones did not move the stored counter: the real authenticator goes on.
    expect(await signIn(device, { counter: 6 })).toBe(ADA.id);
  });

  it("S30: a passkey that always says 0 (synced) keeps working", async () => {
    const synced = new SoftwareAuthenticator({ origin: ORIGIN, counting: false });
    await addPasskey(ADA, ADA_SESSION, synced);
    expect(await signIn(synced)).toBe(ADA.id);
    expect(await signIn(synced)).toBe(ADA.id);
  });

  it("S30: an assertion whose user handle names another user is refused", async () => {
    await addPasskey();
    await addPasskey(BOB, BOB_SESSION, new SoftwareAuthenticator({ origin: ORIGIN }));
    expect(await refusal(signIn(device, { userHandle: passkeys.userHandle(BOB.id) }))).toBe(
      "user_mismatch",
    );
  });

  it("S30: each person's passkey signs in that person only", async () => {
    const bobs = new SoftwareAuthenticator({ origin: ORIGIN });
    await addPasskey();
    await addPasskey(BOB, BOB_SESSION, bobs);
    expect(await signIn(device)).toBe(ADA.id);
    expect(await signIn(bobs)).toBe(BOB.id);
  });

  it("S30: a removed passkey signs in nobody", async () => {
    const added = await addPasskey();
    expect(await passkeys.remove(ADA.id, added.handle)).toBe(true);
    expect(await passkeys.list(ADA.id)).toEqual([]);
    expect(await refusal(signIn())).toBe("unknown_credential");
  });

  it("S30: a passkey left out of its owner's list signs in nobody, even if its record is still there", async () => {
    await addPasskey();
    await store.delete(`passkey:user:${ADA.id}`);
    expect(await refusal(signIn())).toBe("unknown_credential");
  });

  it("refuses a credential the server never kept", async () => {
    await addPasskey();
    const stranger = new SoftwareAuthenticator({ origin: ORIGIN });
    stranger.register(await passkeys.registrationOptions(ADA_SESSION, ADA));
    expect(await refusal(signIn(stranger))).toBe("unknown_credential");
  });

  it("refuses responses that are not WebAuthn responses at all", async () => {
    const options = await passkeys.authenticationOptions(BROWSER);
    for (const junk of [null, "x", {}, { id: "a", rawId: "a", type: "public-key", response: {} }]) {
      expect(await refusal(passkeys.authenticate(BROWSER, junk))).toBe("malformed");
    }
    expect(options.challenge).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});

describe("the person's list", () => {
  it("renames and removes only the person's own passkeys", async () => {
    const adas = await addPasskey();
    const bobs = await addPasskey(BOB, BOB_SESSION, new SoftwareAuthenticator({ origin: ORIGIN }));
    expect(await passkeys.rename(BOB.id, adas.handle, "mine now")).toBe(false);
    expect(await passkeys.remove(BOB.id, adas.handle)).toBe(false);
    expect(await passkeys.rename(ADA.id, adas.handle, "Work phone")).toBe(true);
    expect((await passkeys.list(ADA.id))[0]?.name).toBe("Work phone");
    expect(await passkeys.list(BOB.id)).toEqual([bobs]);
    expect(await passkeys.rename(ADA.id, adas.handle, "   ")).toBe(false);
  });

  it("removeAll forgets every passkey of one person and no one else's", async () => {
    const bobs = new SoftwareAuthenticator({ origin: ORIGIN });
    await addPasskey();
    await addPasskey(ADA, ADA_SESSION, new SoftwareAuthenticator({ origin: ORIGIN }));
    await addPasskey(BOB, BOB_SESSION, bobs);
    await passkeys.removeAll(ADA.id);
    expect(await passkeys.list(ADA.id)).toEqual([]);
    expect(await refusal(signIn())).toBe("unknown_credential");
    expect(await signIn(bobs)).toBe(BOB.id);
    expect(store.dump().filter(([key]) => key.startsWith("passkey:cred:"))).toHaveLength(1);
  });

  it("keeps a passkey while it is used, and forgets one unused for two years", async () => {
    await addPasskey();
    clock.advance(700 * 86_400_000);
    await signIn();
    clock.advance(700 * 86_400_000);
    expect(await signIn()).toBe(ADA.id);
    clock.advance(731 * 86_400_000);
    expect(await passkeys.list(ADA.id)).toEqual([]);
  });
});

/** The same registration with another credential id in the response and its authenticator data. */
function rewriteCredentialId<
  T extends { id: string; rawId: string; response: { attestationObject: string } },
>(response: T, id: string): T {
  const object = Buffer.from(response.response.attestationObject, "base64url");
  const oldId = Buffer.from(response.id, "base64url");
  const newId = Buffer.from(id, "base64url");
  if (oldId.length !== newId.length) throw new Error("ids of equal length only");
  const at = object.indexOf(oldId);
  newId.copy(object, at);
  return {
    ...response,
    id,
    rawId: id,
    response: { ...response.response, attestationObject: object.toString("base64url") },
  };
}
