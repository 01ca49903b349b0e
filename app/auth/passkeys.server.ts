import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from "@simplewebauthn/server";
import { z } from "zod";
import { AuthError, type AuthErrorCode } from "../../adapters/errors";
import { systemClock, type Clock } from "../lib/clock";
import { hmacHex, sha256Hex } from "../lib/crypto.server";
import type { Store } from "../store/types";
import type { PasskeyProblem } from "./passkey-messages";
import { cleanName, MAX_PASSKEYS_PER_USER } from "./passkey-rules";

export { cleanName, MAX_PASSKEY_NAME, MAX_PASSKEYS_PER_USER } from "./passkey-rules";

/** A ceremony's challenge lives on the server this long and is consumed by its first use (S29). */
export const CHALLENGE_TTL_MS = 5 * 60_000;

/**
 * ES256 first (every platform authenticator and security key), then EdDSA and RS256
 * (Windows Hello). Checked again at verification: the same list, so nothing else gets in.
 */
const ALGORITHMS = [-7, -8, -257];

/** What the account page shows of one passkey: nothing that would sign anyone in. */
export interface PasskeySummary {
  /**
   * A public handle, a digest of the credential id, that the page's rename and remove
   * forms post back. Only ever looked up in the owner's own list.
   */
  handle: string;
  name: string;
  createdAt: number;
  /** Null until it has signed in once. */
  lastUsedAt: number | null;
  /** Saved to a password manager or a platform account (synced), as the authenticator says. */
  synced: boolean;
}

/** One stored credential. The public key and id are not secrets, but only the owner sees them. */
interface PasskeyRecord {
  /** The credential id, base64url, as the authenticator gave it. */
  id: string;
  /** The owner's user id: the only user this credential ever signs in (S30). */
  userId: string;
  /** COSE public key, base64url. */
  publicKey: string;
  counter: number;
  /** How the browser can reach the authenticator (usb, nfc, internal…), as it told us. */
  transports: string[];
  synced: boolean;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

/** The person a passkey is added for: their user id, and the address the browser shows. */
export interface PasskeyOwner {
  id: string;
  email: string;
}

/**
 * Why a ceremony failed, for the log line; the person sees words for `code` only. Every
 * one is an {@link AuthError}, so routes treat it as any other sign-in error.
 */
export type PasskeyFailureReason =
  /** The form's credential is not a WebAuthn response at all. */
  | "malformed"
  /** No challenge of this session or browser matches: expired, used, or never issued (S29). */
  | "no_challenge"
  /** Not a credential we keep, or one that was removed (S30). */
  | "unknown_credential"
  /** The authenticator names another user than the credential's owner (S30). */
  | "user_mismatch"
  /** Signature, origin, RP ID, type or flags did not verify (S29). */
  | "not_verified"
  /** The sign counter did not move forward: possibly a cloned authenticator (S30). */
  | "counter_regression"
  /** Registration of a credential id that is already stored (for anyone). */
  | "already_registered"
  /** The authenticator would not keep a discoverable credential. */
  | "not_discoverable"
  /** The person already has {@link MAX_PASSKEYS_PER_USER}. */
  | "limit";

export class PasskeyError extends AuthError {
  constructor(
    code: AuthErrorCode,
    readonly reason: PasskeyFailureReason,
    options: { cause?: unknown } = {},
  ) {
    super(code, `Passkey refused: ${reason}`, options);
    this.name = "PasskeyError";
  }
}

/** The reason of a passkey failure, or undefined for any other error. */
export function passkeyFailureReason(error: unknown): PasskeyFailureReason | undefined {
  return error instanceof PasskeyError ? error.reason : undefined;
}

/** What of a failure the person is told (the rest is only for the log). */
export function passkeyProblem(error: unknown): PasskeyProblem | undefined {
  const reason = passkeyFailureReason(error);
  switch (reason) {
    case "no_challenge":
    case "limit":
    case "already_registered":
    case "not_discoverable":
    case "unknown_credential":
      return reason;
    default:
      return undefined;
  }
}

export interface PasskeysOptions {
  store: Store;
  /** The configured public origin: the only origin an assertion may come from (S29). */
  appOrigin: string;
  /** Shown by the browser when it asks to save a passkey. */
  rpName: string;
  /**
   * Keys the user handle the authenticator keeps: an opaque digest of the user id, so the
   * authenticator holds nothing that names the person. Must not rotate (like LOGIN_HASH_SECRET).
   */
  userHandleKey: Uint8Array;
  clock?: Clock;
  /**
   * How long a passkey nobody uses stays stored, from its last use, in ms (the store keeps
   * nothing forever). Default two years.
   */
  retentionMs?: number;
}

/**
 * Passkeys over the Store contract (so SQLite, Redis and memory all keep them): the two
 * WebAuthn ceremonies with their server-held challenges, and the person's own list.
 *
 * Keys: `passkey:cred:<sha256 of id>` holds a credential; `passkey:user:<user id>` is the
 * owner's index of credential digests. A credential signs in only while it is in its owner's
 * index, so what the account page lists is exactly what can sign in.
 */
export interface Passkeys {
  /** The relying party id: the host of APP_ORIGIN, never the request's Host (S29). */
  readonly rpId: string;
  /** Options for `navigator.credentials.create`, with a challenge bound to `sessionId`. */
  registrationOptions(
    sessionId: string,
    user: PasskeyOwner,
  ): Promise<PublicKeyCredentialCreationOptionsJSON>;
  /**
   * Verify a registration made with a challenge of `sessionId` and keep the credential for
   * `user`. `name` is what the person typed, or undefined for `defaultName`.
   */
  register(
    sessionId: string,
    user: PasskeyOwner,
    response: unknown,
    names: { name?: string; defaultName: string },
  ): Promise<PasskeySummary>;
  /** Options for `navigator.credentials.get`, with a challenge bound to `ceremonyId`. */
  authenticationOptions(ceremonyId: string): Promise<PublicKeyCredentialRequestOptionsJSON>;
  /** The user id a sign-in response's credential belongs to, before anything is verified (for the limits). */
  ownerOf(response: unknown): Promise<string | null>;
  /**
   * Verify a sign-in made with a challenge of `ceremonyId`: the id of the user the
   * credential was registered to, with its counter and last use updated. Throws
   * {@link PasskeyError}.
   */
  authenticate(ceremonyId: string, response: unknown): Promise<string>;
  /** The user's passkeys, most recently used first. */
  list(userId: string): Promise<PasskeySummary[]>;
  /** The credential ids the user may sign in with (for the browser's Signal API). */
  credentialIds(userId: string): Promise<string[]>;
  /** The base64url user handle the authenticator holds for this user. */
  userHandle(userId: string): string;
  /** Rename one of the user's passkeys; false when the user has none with that handle. */
  rename(userId: string, handle: string, name: string): Promise<boolean>;
  /** Remove one of the user's passkeys; false when the user has none with that handle. */
  remove(userId: string, handle: string): Promise<boolean>;
  /** Remove every passkey of the user (for account deletion). */
  removeAll(userId: string): Promise<void>;
}

const base64url = z
  .string()
  .min(1)
  .max(4096)
  .regex(/^[A-Za-z0-9_-]+$/);

const transport = z.enum(["ble", "cable", "hybrid", "internal", "nfc", "smart-card", "usb"]);

const registrationSchema = z.object({
  id: base64url.max(1400),
  rawId: base64url.max(1400),
  type: z.literal("public-key"),
  response: z.object({
    clientDataJSON: base64url,
    attestationObject: base64url,
    transports: z.array(z.string().max(32)).max(10).optional(),
  }),
  authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
  clientExtensionResults: z
    .object({ credProps: z.object({ rk: z.boolean().optional() }).optional() })
    .optional()
    .default({}),
});

const authenticationSchema = z.object({
  id: base64url.max(1400),
  rawId: base64url.max(1400),
  type: z.literal("public-key"),
  response: z.object({
    clientDataJSON: base64url,
    authenticatorData: base64url,
    signature: base64url,
    userHandle: base64url.max(128).optional(),
  }),
  authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
  clientExtensionResults: z.object({}).optional().default({}),
});

const clientDataSchema = z.object({
  challenge: base64url.max(128),
});

export function createPasskeys(options: PasskeysOptions): Passkeys {
  const { store, appOrigin } = options;
  const clock = options.clock ?? systemClock;
  const retentionMs = options.retentionMs ?? 730 * 86_400_000;
  // The RP ID is the configured origin's host, so credentials are scoped to exactly that
  // site: never the Host header, which a client or a misconfigured proxy controls (S29).
  const rpId = new URL(appOrigin).hostname;

  const credKey = (digest: string) => `passkey:cred:${digest}`;
  const indexKey = (userId: string) => `passkey:user:${userId}`;
  const digestOf = (credentialId: string) => sha256Hex(`passkey:${credentialId}`);
  const handleOf = (digest: string) => digest.slice(0, 32);
  // Challenges are keyed by who asked and by the challenge itself: several tabs of one
  // browser may each hold one, and only `take` (atomic) can redeem it (S29).
  const registerChallengeKey = (sessionId: string, challenge: string) =>
    `passkey:challenge:register:${sha256Hex(sessionId)}:${challenge}`;
  const signInChallengeKey = (ceremonyId: string, challenge: string) =>
    `passkey:challenge:sign-in:${sha256Hex(ceremonyId)}:${challenge}`;
  const userHandle = (userId: string) =>
    Buffer.from(hmacHex(options.userHandleKey, `passkey-user:${userId}`), "hex").toString(
      "base64url",
    );

  async function read(digest: string): Promise<PasskeyRecord | null> {
    const raw = await store.get(credKey(digest));
    if (raw === null) return null;
    try {
      return JSON.parse(raw) as PasskeyRecord;
    } catch {
      return null;
    }
  }

  /** The user's credential digests; beyond the cap none are dropped silently (see add). */
  const digestsOf = (userId: string) => store.indexMembers(indexKey(userId));

  async function save(digest: string, record: PasskeyRecord): Promise<void> {
    // Kept for `retentionMs` from the last use, in the record and in the owner's index.
    const expiresAt = clock() + retentionMs;
    await store.set(credKey(digest), JSON.stringify(record), retentionMs);
    await store.indexAdd(indexKey(record.userId), digest, expiresAt, MAX_PASSKEYS_PER_USER * 2);
  }

  async function ownRecord(
    userId: string,
    handle: string,
  ): Promise<{ digest: string; record: PasskeyRecord } | null> {
    if (!/^[0-9a-f]{32}$/.test(handle)) return null;
    // Only digests in the user's own index are candidates: another user's handle matches none.
    const digest = (await digestsOf(userId)).find((d) => handleOf(d) === handle);
    if (digest === undefined) return null;
    const record = await read(digest);
    if (!record || record.userId !== userId) return null;
    return { digest, record };
  }

  function summary(digest: string, record: PasskeyRecord): PasskeySummary {
    return {
      handle: handleOf(digest),
      name: record.name,
      createdAt: record.createdAt,
      lastUsedAt: record.lastUsedAt,
      synced: record.synced,
    };
  }

  return {
    rpId,
    userHandle,

    async registrationOptions(sessionId, user) {
      const digests = await digestsOf(user.id);
      if (digests.length >= MAX_PASSKEYS_PER_USER) throw new PasskeyError("invalid", "limit");
      const existing = (await Promise.all(digests.map(read))).filter(
        (record): record is PasskeyRecord => record !== null && record.userId === user.id,
      );
      const optionsJSON = await generateRegistrationOptions({
        rpName: options.rpName,
        rpID: rpId,
        userName: user.email,
        userDisplayName: user.email,
        userID: Buffer.from(userHandle(user.id), "base64url"),
        attestationType: "none",
        timeout: CHALLENGE_TTL_MS,
        // The same authenticator twice would only be a duplicate in the list.
        excludeCredentials: existing.map((record) => ({
          id: record.id,
          transports: record.transports,
        })),
        // Discoverable credentials are what let "Sign in with a passkey" work without an
        // email address; user verification is asked for where the authenticator can.
        authenticatorSelection: {
          residentKey: "required",
          requireResidentKey: true,
          userVerification: "preferred",
        },
        extensions: { credProps: true },
        supportedAlgorithmIDs: ALGORITHMS,
      });
      await store.set(
        registerChallengeKey(sessionId, optionsJSON.challenge),
        user.id,
        CHALLENGE_TTL_MS,
      );
      return optionsJSON;
    },

    async register(sessionId, user, response, names) {
      const parsed = registrationSchema.safeParse(response);
      if (!parsed.success) throw new PasskeyError("invalid_input", "malformed");
      const credential = parsed.data;
      const challenge = challengeOf(credential.response.clientDataJSON);
      // Consumed before anything else is checked: whatever follows, it never works twice.
      const owner = await store.take(registerChallengeKey(sessionId, challenge));
      if (owner === null || owner !== user.id) throw new PasskeyError("expired", "no_challenge");
      let verified;
      try {
        verified = await verifyRegistrationResponse({
          response: credential as RegistrationResponseJSON,
          expectedChallenge: challenge,
          // APP_ORIGIN and its host, never anything from the request (S29).
          expectedOrigin: appOrigin,
          expectedRPID: rpId,
          requireUserVerification: false,
          supportedAlgorithmIDs: ALGORITHMS,
        });
      } catch (cause) {
        throw new PasskeyError("invalid", "not_verified", { cause });
      }
      if (!verified.verified) throw new PasskeyError("invalid", "not_verified");
      if (credential.clientExtensionResults.credProps?.rk === false) {
        throw new PasskeyError("invalid", "not_discoverable");
      }
      const info = verified.registrationInfo;
      const digest = digestOf(info.credential.id);
      // A credential id already stored stays with its owner: a second registration of it,
      // for anyone, would let one person's passkey sign in as another (S30).
      if ((await store.get(credKey(digest))) !== null) {
        throw new PasskeyError("invalid", "already_registered");
      }
      const before = await digestsOf(user.id);
      if (before.length >= MAX_PASSKEYS_PER_USER) throw new PasskeyError("invalid", "limit");
      const now = clock();
      const record: PasskeyRecord = {
        id: info.credential.id,
        userId: user.id,
        publicKey: Buffer.from(info.credential.publicKey).toString("base64url"),
        counter: info.credential.counter,
        transports: (info.credential.transports ?? []).filter(
          (t) => transport.safeParse(t).success,
        ),
        synced: info.credentialDeviceType === "multiDevice",
        name: cleanName(names.name) ?? cleanName(names.defaultName) ?? "Passkey",
        createdAt: now,
        lastUsedAt: null,
      };
      await save(digest, record);
      // Two additions at once may both have passed the check above; the index has room for
      // them, so neither is dropped silently, and the one over the limit is taken back.
      const after = await digestsOf(user.id);
      if (after.length > MAX_PASSKEYS_PER_USER) {
        await Promise.all([
          store.indexRemove(indexKey(user.id), digest),
          store.delete(credKey(digest)),
        ]);
        throw new PasskeyError("invalid", "limit");
      }
      return summary(digest, record);
    },

    async authenticationOptions(ceremonyId) {
      const optionsJSON = await generateAuthenticationOptions({
        rpID: rpId,
        // No allowCredentials: the authenticator offers its discoverable credentials, so
        // nobody has to type an address, and the page tells no one which accounts exist.
        userVerification: "preferred",
        timeout: CHALLENGE_TTL_MS,
      });
      await store.set(signInChallengeKey(ceremonyId, optionsJSON.challenge), "1", CHALLENGE_TTL_MS);
      return optionsJSON;
    },

    async ownerOf(response) {
      const parsed = authenticationSchema.safeParse(response);
      if (!parsed.success) return null;
      return (await read(digestOf(parsed.data.id)))?.userId ?? null;
    },

    async authenticate(ceremonyId, response) {
      const parsed = authenticationSchema.safeParse(response);
      if (!parsed.success) throw new PasskeyError("invalid_input", "malformed");
      const assertion = parsed.data;
      const challenge = challengeOf(assertion.response.clientDataJSON);
      // Single use, and only in the browser that asked (S29): a replayed assertion finds
      // its challenge gone.
      if ((await store.take(signInChallengeKey(ceremonyId, challenge))) === null) {
        throw new PasskeyError("expired", "no_challenge");
      }
      const digest = digestOf(assertion.id);
      const record = await read(digest);
      // Listed in its owner's index, or it signs in nobody: a removed passkey is dead even
      // if its record outlived the removal (S30).
      if (!record || !(await digestsOf(record.userId)).includes(digest)) {
        throw new PasskeyError("invalid", "unknown_credential");
      }
      // The authenticator's user handle must be the owner's: a credential never signs in
      // anyone else, whatever the response claims (S30).
      const handle = assertion.response.userHandle;
      if (handle !== undefined && handle !== userHandle(record.userId)) {
        throw new PasskeyError("invalid", "user_mismatch");
      }
      let verified;
      try {
        verified = await verifyAuthenticationResponse({
          response: assertion as AuthenticationResponseJSON,
          expectedChallenge: challenge,
          expectedOrigin: appOrigin,
          expectedRPID: rpId,
          requireUserVerification: false,
          credential: {
            id: record.id,
            publicKey: Buffer.from(record.publicKey, "base64url"),
            // The counter is checked below, after the signature, so that only a verified
            // assertion can be logged as a possible clone.
            counter: 0,
            transports: record.transports,
          },
        });
      } catch (cause) {
        throw new PasskeyError("invalid", "not_verified", { cause });
      }
      if (!verified.verified) throw new PasskeyError("invalid", "not_verified");
      const { newCounter, credentialBackedUp } = verified.authenticationInfo;
      // A counter that does not move forward means two authenticators hold this key, one
      // of them a clone. Synced passkeys always say 0, and 0 after 0 is fine (WebAuthn §7.2).
      if ((newCounter > 0 || record.counter > 0) && newCounter <= record.counter) {
        throw new PasskeyError("invalid", "counter_regression");
      }
      await save(digest, {
        ...record,
        counter: newCounter,
        synced: record.synced || credentialBackedUp,
        lastUsedAt: clock(),
      });
      return record.userId;
    },

    async list(userId) {
      const digests = await digestsOf(userId);
      const rows = await Promise.all(
        digests.map(async (digest) => [digest, await read(digest)] as const),
      );
      return rows
        .filter((row): row is readonly [string, PasskeyRecord] => row[1]?.userId === userId)
        .map(([digest, record]) => summary(digest, record))
        .sort(
          (a, b) =>
            (b.lastUsedAt ?? b.createdAt) - (a.lastUsedAt ?? a.createdAt) ||
            b.createdAt - a.createdAt,
        );
    },

    async credentialIds(userId) {
      const records = await Promise.all((await digestsOf(userId)).map(read));
      return records.filter((r) => r?.userId === userId).map((r) => (r as PasskeyRecord).id);
    },

    async rename(userId, handle, name) {
      const own = await ownRecord(userId, handle);
      const clean = cleanName(name);
      if (!own || clean === undefined) return false;
      await save(own.digest, { ...own.record, name: clean });
      return true;
    },

    async remove(userId, handle) {
      const own = await ownRecord(userId, handle);
      if (!own) return false;
      // Out of the index first: from that moment it signs in nobody, whatever happens next.
      await store.indexRemove(indexKey(userId), own.digest);
      await store.delete(credKey(own.digest));
      return true;
    },

    async removeAll(userId) {
      const digests = await digestsOf(userId);
      await store.delete(indexKey(userId));
      await Promise.all(digests.map((digest) => store.delete(credKey(digest))));
    },
  };
}

/** The challenge a client data JSON carries; anything unreadable is malformed input. */
function challengeOf(clientDataJSON: string): string {
  try {
    const parsed = clientDataSchema.safeParse(
      JSON.parse(Buffer.from(clientDataJSON, "base64url").toString("utf8")),
    );
    if (parsed.success) return parsed.data.challenge;
  } catch {
    // Fall through: not JSON.
  }
  throw new PasskeyError("invalid_input", "malformed");
}
