/**
 * The passkey ceremonies and the person's list (app/auth/passkeys.server.ts) against a
 * software authenticator that signs as a real one does: S29 and S30, case by case.
 */
import { createHash, createHmac, generateKeyPairSync } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuthError } from "../../adapters/errors";
import {
  createPasskeys,
  MAX_PASSKEYS_PER_USER,
  PasskeyError,
  passkeyFailureReason,
  passkeyProblem,
  type PasskeyOwner,
  type Passkeys,
} from "../../app/auth/passkeys.server";
import { MemoryStore } from "../../app/store/memory.server";
import type { Store } from "../../app/store/types";
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

const USER_HANDLE_KEY = Buffer.alloc(32, 7);
/** The service over `over` (the test's store unless told), as the app makes it. */
const makePasskeys = (over: Store = store) =>
  createPasskeys({
    store: over,
    clock,
    appOrigin: ORIGIN,
    rpName: "Passwordless Starter",
    userHandleKey: USER_HANDLE_KEY,
  });

beforeEach(() => {
  clock = createTestClock();
  store = new MemoryStore({ clock, sweepIntervalMs: 0 });
  passkeys = makePasskeys();
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

/** The digest a credential id is kept under (`passkey:cred:<digest>`). */
/** `response` (a registration or an assertion) with its clientDataJSON replaced by `text`. */
const withClientData = <R extends { response: { clientDataJSON: string } }>(
  response: R,
  text: string,
): R => ({
  ...response,
  response: { ...response.response, clientDataJSON: Buffer.from(text).toString("base64url") },
});

const digestOf = (credentialId: string) =>
  createHash("sha256").update(`passkey:${credentialId}`).digest("hex");

/** The AuthError code and passkey reason a promise was refused with, as `code:reason`. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    const reason = passkeyFailureReason(error);
    if (reason === undefined || !(error instanceof PasskeyError)) return String(error);
    // Every refusal is an AuthError whose message names its reason (for the log's cause).
    expect(error).toBeInstanceOf(AuthError);
    expect(error.name).toBe("PasskeyError");
    expect(error.message).toBe(`Passkey refused: ${reason}`);
    return `${error.code}:${reason}`;
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

  it("asks the browser whether the credential is discoverable, for ES256, EdDSA or RS256, within five minutes", async () => {
    const options = await passkeys.registrationOptions(ADA_SESSION, ADA);
    expect(options.extensions).toEqual({ credProps: true });
    expect(options.pubKeyCredParams.map((p) => p.alg)).toEqual([-7, -8, -257]);
    expect(options.timeout).toBe(5 * 60_000);
    expect(options.rp.name).toBe("Passwordless Starter");
    expect(options.user).toMatchObject({ name: ADA.email, displayName: ADA.email });
  });

  it("gives the authenticator a stable handle: HMAC-SHA256 of the user id, never the id itself", () => {
    const expected = createHmac("sha256", USER_HANDLE_KEY)
      .update(`passkey-user:${ADA.id}`)
      .digest("base64url");
    expect(passkeys.userHandle(ADA.id)).toBe(expected);
    expect(Buffer.from(expected, "base64url")).toHaveLength(32);
  });

  it("keeps the transports the browser reports, known ones only, and offers them back", async () => {
    const key = new SoftwareAuthenticator({
      origin: ORIGIN,
      transports: ["usb", "nfc", "telepathy"],
    });
    await addPasskey(ADA, ADA_SESSION, key);
    const options = await passkeys.registrationOptions(ADA_SESSION, ADA);
    expect(options.excludeCredentials).toEqual([
      { id: key.credentials[0]?.id, type: "public-key", transports: ["usb", "nfc"] },
    ]);
  });

  it("keeps every transport WebAuthn names", async () => {
    const every = ["ble", "cable", "hybrid", "internal", "nfc", "smart-card", "usb"];
    const key = new SoftwareAuthenticator({ origin: ORIGIN, transports: every });
    await addPasskey(ADA, ADA_SESSION, key);
    const options = await passkeys.registrationOptions(ADA_SESSION, ADA);
    expect(options.excludeCredentials?.[0]?.transports).toEqual(every);
  });

  it("adds a passkey from a security key or phone (cross-platform) as from the device itself", async () => {
    const options = await passkeys.registrationOptions(ADA_SESSION, ADA);
    const response = { ...device.register(options), authenticatorAttachment: "cross-platform" };
    await passkeys.register(ADA_SESSION, ADA, response, { defaultName: "Security key" });
    expect(await passkeys.list(ADA.id)).toHaveLength(1);
  });

  it("refuses a credential id with a character base64url does not have, wherever it is", async () => {
    const options = await passkeys.registrationOptions(ADA_SESSION, ADA);
    const good = device.register(options);
    for (const id of [`!${good.id}`, `${good.id}!`, `${good.id.slice(0, 4)}+${good.id.slice(4)}`]) {
      expect(
        await refusal(passkeys.register(ADA_SESSION, ADA, { ...good, id }, { defaultName: "x" })),
      ).toBe("invalid_input:malformed");
    }
  });

  it("says whether a passkey is synced, as the authenticator flags it", async () => {
    const synced = await addPasskey(
      ADA,
      ADA_SESSION,
      new SoftwareAuthenticator({ origin: ORIGIN, synced: true }),
    );
    expect(synced.synced).toBe(true);
    expect((await addPasskey()).synced).toBe(false);
  });

  it('names a passkey "Passkey" when neither the typed nor the default name is usable', async () => {
    const options = await passkeys.registrationOptions(ADA_SESSION, ADA);
    const added = await passkeys.register(ADA_SESSION, ADA, device.register(options), {
      name: " \n ",
      defaultName: "\u0000",
    });
    expect(added.name).toBe("Passkey");
  });

  it("accepts an authenticator that verifies no user: verification is preferred, not required", async () => {
    const key = new SoftwareAuthenticator({ origin: ORIGIN, userVerifying: false });
    await addPasskey(ADA, ADA_SESSION, key);
    expect(await signIn(key)).toBe(ADA.id);
  });

  it("accepts a browser that does not report whether the credential is discoverable", async () => {
    const options = await passkeys.registrationOptions(ADA_SESSION, ADA);
    const response = device.register(options);
    const { credProps, ...rest } = response.clientExtensionResults;
    expect(credProps).toBeDefined();
    const added = await passkeys.register(
      ADA_SESSION,
      ADA,
      { ...response, clientExtensionResults: rest },
      { defaultName: "x" },
    );
    expect(await passkeys.list(ADA.id)).toEqual([added]);
  });

  it("S29: refuses an attestation whose signature does not verify", async () => {
    const own = await passkeys.registrationOptions(ADA_SESSION, ADA);
    // A self-attestation signed with the credential's own key verifies…
    await passkeys.register(ADA_SESSION, ADA, device.register(own, { selfAttestWith: "own" }), {
      defaultName: "x",
    });
    // …one signed with any other key does not.
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const other = new SoftwareAuthenticator({ origin: ORIGIN });
    const options = await passkeys.registrationOptions(ADA_SESSION, ADA);
    const forged = other.register(options, { selfAttestWith: privateKey });
    expect(await refusal(passkeys.register(ADA_SESSION, ADA, forged, { defaultName: "x" }))).toBe(
      "invalid:not_verified",
    );
    expect(await passkeys.list(ADA.id)).toHaveLength(1);
  });

  it("keeps why a registration did not verify, for the log", async () => {
    const options = await passkeys.registrationOptions(ADA_SESSION, ADA);
    const response = device.register(options, { origin: "https://evil.example" });
    const error = await passkeys
      .register(ADA_SESSION, ADA, response, { defaultName: "x" })
      .catch((e: unknown) => e);
    expect(passkeyFailureReason(error)).toBe("not_verified");
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it("refuses registration responses that are not WebAuthn responses, and keeps nothing", async () => {
    const options = await passkeys.registrationOptions(ADA_SESSION, ADA);
    const good = device.register(options);
    for (const junk of [
      null,
      {},
      { ...good, type: "private-key" },
      withClientData(good, "not json"),
      withClientData(good, JSON.stringify({ type: "webauthn.create" })),
      withClientData(good, JSON.stringify({ challenge: "not base64url!" })),
    ]) {
      expect(await refusal(passkeys.register(ADA_SESSION, ADA, junk, { defaultName: "x" }))).toBe(
        "invalid_input:malformed",
      );
    }
    expect(await passkeys.list(ADA.id)).toEqual([]);
    // The challenge was not spent on them.
    await passkeys.register(ADA_SESSION, ADA, good, { defaultName: "x" });
  });

  it("S29: a registration challenge asked for one person does not register a passkey for another", async () => {
    // One session id, two people (a session that changed hands): the challenge is Ada's.
    const options = await passkeys.registrationOptions(ADA_SESSION, ADA);
    const response = device.register(options);
    expect(await refusal(passkeys.register(ADA_SESSION, BOB, response, { defaultName: "x" }))).toBe(
      "expired:no_challenge",
    );
    expect(await passkeys.list(BOB.id)).toEqual([]);
    // Consumed all the same: it works for nobody now.
    expect(await refusal(passkeys.register(ADA_SESSION, ADA, response, { defaultName: "x" }))).toBe(
      "expired:no_challenge",
    );
  });

  it("S29: a registration challenge works once", async () => {
    const options = await passkeys.registrationOptions(ADA_SESSION, ADA);
    const response = device.register(options);
    await passkeys.register(ADA_SESSION, ADA, response, { defaultName: "x" });
    expect(await refusal(passkeys.register(ADA_SESSION, ADA, response, { defaultName: "x" }))).toBe(
      "expired:no_challenge",
    );
  });

  it("S29: a registration challenge is bound to the session that asked", async () => {
    const options = await passkeys.registrationOptions(ADA_SESSION, ADA);
    const response = device.register(options);
    expect(
      await refusal(passkeys.register("another-session", ADA, response, { defaultName: "x" })),
    ).toBe("expired:no_challenge");
    expect(await passkeys.list(ADA.id)).toEqual([]);
  });

  it("S29: a registration challenge expires after five minutes", async () => {
    const options = await passkeys.registrationOptions(ADA_SESSION, ADA);
    clock.advance(5 * 60_000 + 1);
    expect(
      await refusal(
        passkeys.register(ADA_SESSION, ADA, device.register(options), { defaultName: "x" }),
      ),
    ).toBe("expired:no_challenge");
  });

  it("S29: a registration made for another origin or RP ID is refused", async () => {
    for (const overrides of [{ origin: "https://evil.example" }, { rpId: "evil.example" }]) {
      const options = await passkeys.registrationOptions(ADA_SESSION, ADA);
      const response = device.register(options, overrides);
      expect(
        await refusal(passkeys.register(ADA_SESSION, ADA, response, { defaultName: "x" })),
      ).toBe("invalid:not_verified");
    }
    expect(await passkeys.list(ADA.id)).toEqual([]);
  });

  it("refuses an authenticator that will not keep a discoverable credential", async () => {
    const securityKey = new SoftwareAuthenticator({ origin: ORIGIN, residentKey: false });
    expect(await refusal(addPasskey(ADA, ADA_SESSION, securityKey))).toBe(
      "invalid:not_discoverable",
    );
  });

  it(`keeps at most ${MAX_PASSKEYS_PER_USER} per person`, async () => {
    for (let i = 0; i < MAX_PASSKEYS_PER_USER; i++) {
      await addPasskey(ADA, ADA_SESSION, new SoftwareAuthenticator({ origin: ORIGIN }));
    }
    expect(await refusal(passkeys.registrationOptions(ADA_SESSION, ADA))).toBe("invalid:limit");
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
    ).toBe("invalid:limit");
    expect(await passkeys.list(ADA.id)).toHaveLength(MAX_PASSKEYS_PER_USER);
  });

  it("takes back an addition over the limit when another tab's addition landed while it was saved", async () => {
    for (let i = 0; i < MAX_PASSKEYS_PER_USER - 1; i++) {
      await addPasskey(ADA, ADA_SESSION, new SoftwareAuthenticator({ origin: ORIGIN }));
    }
    const other = new SoftwareAuthenticator({ origin: ORIGIN });
    const late = new SoftwareAuthenticator({ origin: ORIGIN });
    const otherOptions = await passkeys.registrationOptions(ADA_SESSION, ADA);
    const lateOptions = await passkeys.registrationOptions(ADA_SESSION, ADA);
    // The other tab's whole addition runs after this one counted 19, before its own save.
    let landed = false;
    const racing = makePasskeys(
      new Proxy(store, {
        get(target, property) {
          const value: unknown = Reflect.get(target, property, target);
          if (property !== "set" || typeof value !== "function") {
            return typeof value === "function" ? value.bind(target) : value;
          }
          return async (key: string, ...rest: unknown[]) => {
            if (!landed && key.startsWith("passkey:cred:")) {
              landed = true;
              await passkeys.register(ADA_SESSION, ADA, other.register(otherOptions), {
                name: "other tab",
                defaultName: "x",
              });
            }
            return value.call(target, key, ...rest);
          };
        },
      }),
    );
    expect(
      await refusal(
        racing.register(ADA_SESSION, ADA, late.register(lateOptions), {
          name: "late",
          defaultName: "x",
        }),
      ),
    ).toBe("invalid:limit");
    expect(landed).toBe(true);
    const names = (await passkeys.list(ADA.id)).map((p) => p.name);
    expect(names).toHaveLength(MAX_PASSKEYS_PER_USER);
    expect(names).toContain("other tab");
    expect(names).not.toContain("late");
    // Its record went with it: only the ones listed are kept.
    expect(store.dump().filter(([key]) => key.startsWith("passkey:cred:"))).toHaveLength(
      MAX_PASSKEYS_PER_USER,
    );
    expect(await refusal(signIn(late))).toBe("invalid:unknown_credential");
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
    ).toBe("invalid:already_registered");
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
    expect(await refusal(passkeys.authenticate(BROWSER, assertion))).toBe("expired:no_challenge");
  });

  it("S29: a challenge asked for by another browser is refused", async () => {
    await addPasskey();
    const options = await passkeys.authenticationOptions("ffffffffffffffffffffffffffffffff");
    expect(await refusal(passkeys.authenticate(BROWSER, device.assert(options)))).toBe(
      "expired:no_challenge",
    );
  });

  it("S29: a challenge the server never issued is refused", async () => {
    await addPasskey();
    await passkeys.authenticationOptions(BROWSER);
    const made = device.assert({ challenge: Buffer.alloc(32, 1).toString("base64url") });
    expect(await refusal(passkeys.authenticate(BROWSER, made))).toBe("expired:no_challenge");
  });

  it("S29: an expired challenge is refused", async () => {
    await addPasskey();
    const options = await passkeys.authenticationOptions(BROWSER);
    clock.advance(5 * 60_000 + 1);
    expect(await refusal(passkeys.authenticate(BROWSER, device.assert(options)))).toBe(
      "expired:no_challenge",
    );
  });

  it("S29: an assertion made on another origin is refused", async () => {
    await addPasskey();
    expect(await refusal(signIn(device, { origin: "https://localhost.evil.example" }))).toBe(
      "invalid:not_verified",
    );
  });

  it("S29: an assertion made for another RP ID is refused", async () => {
    await addPasskey();
    expect(await refusal(signIn(device, { rpId: "evil.example" }))).toBe("invalid:not_verified");
  });

  it("refuses a registration response offered as a sign-in", async () => {
    await addPasskey();
    expect(await refusal(signIn(device, { type: "webauthn.create" }))).toBe("invalid:not_verified");
  });

  it("refuses a signature made with another key", async () => {
    await addPasskey();
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    expect(await refusal(signIn(device, { signWith: privateKey }))).toBe("invalid:not_verified");
  });

  it("S30: a sign counter that goes backwards is refused as a possible clone", async () => {
    await addPasskey();
    await signIn(device, { counter: 5 });
    expect(await refusal(signIn(device, { counter: 3 }))).toBe("invalid:counter_regression");
    expect(await refusal(signIn(device, { counter: 5 }))).toBe("invalid:counter_regression");
    // The refused ones did not move the stored counter: the real authenticator goes on.
    expect(await signIn(device, { counter: 6 })).toBe(ADA.id);
  });

  it("S30: a counter that falls back to 0 after counting is refused as a possible clone", async () => {
    await addPasskey();
    await signIn(device, { counter: 5 });
    expect(await refusal(signIn(device, { counter: 0 }))).toBe("invalid:counter_regression");
  });

  it("keeps why a sign-in did not verify, for the log", async () => {
    await addPasskey();
    const error = await signIn(device, { rpId: "evil.example" }).catch((e: unknown) => e);
    expect(passkeyFailureReason(error)).toBe("not_verified");
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it("accepts an assertion without a user handle (WebAuthn makes it optional)", async () => {
    await addPasskey();
    expect(await signIn(device, { userHandle: null })).toBe(ADA.id);
  });

  it("marks a passkey synced once the authenticator says it is backed up, and keeps it so", async () => {
    await addPasskey();
    await signIn(device, { backedUp: false });
    expect((await passkeys.list(ADA.id))[0]?.synced).toBe(false);
    await signIn(device, { backedUp: true });
    expect((await passkeys.list(ADA.id))[0]?.synced).toBe(true);
    await signIn(device, { backedUp: false });
    expect((await passkeys.list(ADA.id))[0]?.synced).toBe(true);
  });

  it("names the owner of a sign-in response's credential before anything is verified, or nobody", async () => {
    await addPasskey();
    const options = await passkeys.authenticationOptions(BROWSER);
    const assertion = device.assert(options, {
      signWith: generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey,
    });
    expect(await passkeys.ownerOf(assertion)).toBe(ADA.id);
    const stranger = new SoftwareAuthenticator({ origin: ORIGIN });
    stranger.register(await passkeys.registrationOptions(ADA_SESSION, ADA));
    expect(await passkeys.ownerOf(stranger.assert(options))).toBeNull();
    for (const junk of [null, "x", {}, { ...assertion, type: "private-key" }]) {
      expect(await passkeys.ownerOf(junk)).toBeNull();
    }
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
      "invalid:user_mismatch",
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
    expect(await refusal(signIn())).toBe("invalid:unknown_credential");
  });

  it("S30: a passkey left out of its owner's list signs in nobody, even if its record is still there", async () => {
    await addPasskey();
    await store.delete(`passkey:user:${ADA.id}`);
    expect(await refusal(signIn())).toBe("invalid:unknown_credential");
  });

  it("refuses a credential the server never kept", async () => {
    await addPasskey();
    const stranger = new SoftwareAuthenticator({ origin: ORIGIN });
    stranger.register(await passkeys.registrationOptions(ADA_SESSION, ADA));
    expect(await refusal(signIn(stranger))).toBe("invalid:unknown_credential");
  });

  it("refuses responses that are not WebAuthn responses at all", async () => {
    await addPasskey();
    const options = await passkeys.authenticationOptions(BROWSER);
    const good = device.assert(options);
    for (const junk of [
      null,
      "x",
      {},
      { id: "a", rawId: "a", type: "public-key", response: {} },
      withClientData(good, "not json"),
      withClientData(good, JSON.stringify({ origin: ORIGIN })),
    ]) {
      expect(await refusal(passkeys.authenticate(BROWSER, junk))).toBe("invalid_input:malformed");
    }
    expect(options.challenge).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it("signs in with a passkey on a security key or phone (cross-platform)", async () => {
    await addPasskey();
    const options = await passkeys.authenticationOptions(BROWSER);
    const response = { ...device.assert(options), authenticatorAttachment: "cross-platform" };
    expect(await passkeys.authenticate(BROWSER, response)).toBe(ADA.id);
  });

  it("refuses an assertion whose credential id starts with a character base64url does not have", async () => {
    await addPasskey();
    const options = await passkeys.authenticationOptions(BROWSER);
    const good = device.assert(options);
    expect(await refusal(passkeys.authenticate(BROWSER, { ...good, id: `!${good.id}` }))).toBe(
      "invalid_input:malformed",
    );
  });
});

describe("the person's list", () => {
  const names = async () => (await passkeys.list(ADA.id)).map((p) => p.name);
  /** Four authenticators, the first three added to Ada's account a second apart. */
  async function threeAdded() {
    const keys = [1, 2, 3, 4].map(() => new SoftwareAuthenticator({ origin: ORIGIN }));
    for (const [i, name] of ["first", "second", "third"].entries()) {
      if (i > 0) clock.advance(1000);
      await addPasskey(ADA, ADA_SESSION, keys[i] as SoftwareAuthenticator, name);
    }
    return keys;
  }

  it("lists the most recently used first, then the newest, and names each one's credential id", async () => {
    const [a, b, c, d] = await threeAdded();
    expect(await names()).toEqual(["third", "second", "first"]);
    clock.advance(1000);
    await signIn(a as SoftwareAuthenticator);
    expect(await names()).toEqual(["first", "third", "second"]);
    // Used and added at the same moment: the newer passkey first.
    clock.advance(1000);
    await signIn(b as SoftwareAuthenticator);
    await addPasskey(ADA, ADA_SESSION, d, "fourth");
    expect(await names()).toEqual(["fourth", "second", "first", "third"]);
    expect((await passkeys.credentialIds(ADA.id)).sort()).toEqual(
      [a, b, c, d].map((x) => x?.credentials[0]?.id).sort(),
    );
  });

  it("orders the list by use and creation, not by the order the store's index gives", async () => {
    const [a, b, c, d] = await threeAdded();
    clock.advance(1000);
    await signIn(a as SoftwareAuthenticator);
    await addPasskey(ADA, ADA_SESSION, d, "fourth");
    // The index, rewritten so that it gives them oldest first.
    const index = `passkey:user:${ADA.id}`;
    const later = clock() + 86_400_000;
    for (const [i, key] of [b, c, a, d].entries()) {
      await store.indexAdd(index, digestOf(key?.credentials[0]?.id as string), later - i, 40);
    }
    // "first" was used when "fourth" was added: the newer one first.
    expect(await names()).toEqual(["fourth", "first", "third", "second"]);
  });

  it("S30: leaves out whatever in the person's index is unreadable, gone, or another person's", async () => {
    const adas = await addPasskey();
    const bobsDevice = new SoftwareAuthenticator({ origin: ORIGIN });
    const bobs = await addPasskey(BOB, BOB_SESSION, bobsDevice);
    const goneDevice = new SoftwareAuthenticator({ origin: ORIGIN });
    const gone = await addPasskey(ADA, ADA_SESSION, goneDevice);
    const index = `passkey:user:${ADA.id}`;
    const later = clock() + 86_400_000;
    // Bob's credential in Ada's index, a record that is not JSON, and one whose record is gone.
    await store.indexAdd(index, digestOf(bobsDevice.credentials[0]?.id as string), later, 40);
    await store.set(`passkey:cred:${"f".repeat(64)}`, "{not json", 86_400_000);
    await store.indexAdd(index, "f".repeat(64), later, 40);
    await store.delete(`passkey:cred:${digestOf(goneDevice.credentials[0]?.id as string)}`);

    expect(await passkeys.list(ADA.id)).toEqual([adas]);
    expect(await passkeys.credentialIds(ADA.id)).toEqual([device.credentials[0]?.id]);
    const options = await passkeys.registrationOptions(ADA_SESSION, ADA);
    expect(options.excludeCredentials?.map((c) => c.id)).toEqual([device.credentials[0]?.id]);
    for (const handle of [bobs.handle, gone.handle, "f".repeat(32)]) {
      expect(await passkeys.rename(ADA.id, handle, "mine now")).toBe(false);
      expect(await passkeys.remove(ADA.id, handle)).toBe(false);
    }
    // Bob's passkey is untouched, and still signs in Bob only.
    expect(await passkeys.list(BOB.id)).toEqual([bobs]);
    expect(await signIn(bobsDevice)).toBe(BOB.id);
  });

  it("tells the person only the reasons they can act on", () => {
    for (const reason of [
      "no_challenge",
      "limit",
      "already_registered",
      "not_discoverable",
      "unknown_credential",
    ] as const) {
      expect(passkeyProblem(new PasskeyError("invalid", reason))).toBe(reason);
    }
    for (const reason of [
      "malformed",
      "user_mismatch",
      "not_verified",
      "counter_regression",
    ] as const) {
      expect(passkeyProblem(new PasskeyError("invalid", reason))).toBeUndefined();
    }
    expect(passkeyProblem(new AuthError("invalid", "Not a passkey's"))).toBeUndefined();
    expect(passkeyFailureReason(new Error("x"))).toBeUndefined();
  });

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
    expect(await refusal(signIn())).toBe("invalid:unknown_credential");
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
