/**
 * A software WebAuthn authenticator for tests: it makes ES256 credentials with node:crypto
 * and answers registration and sign-in options exactly as a browser and a platform
 * authenticator would (attestation "none", discoverable credentials, a sign counter), so
 * the server's real verification runs on real signatures.
 *
 * Every answer can be bent for a test: another origin, another RP ID, a counter of one's
 * choosing, another user handle, another credential's key, a self-attestation, the
 * user-verified and backup flags, or the transports the browser reports.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";

/** What a browser passes to the page from `navigator.credentials.create`, as JSON. */
export interface RegistrationJSON {
  id: string;
  rawId: string;
  type: "public-key";
  response: { clientDataJSON: string; attestationObject: string; transports: string[] };
  authenticatorAttachment: "platform";
  clientExtensionResults: { credProps?: { rk: boolean } };
}

/** What a browser passes to the page from `navigator.credentials.get`, as JSON. */
export interface AssertionJSON {
  id: string;
  rawId: string;
  type: "public-key";
  response: {
    clientDataJSON: string;
    authenticatorData: string;
    signature: string;
    userHandle?: string;
  };
  authenticatorAttachment: "platform";
  clientExtensionResults: Record<string, never>;
}

/** The parts of the server's options the authenticator reads. */
export interface CreationOptions {
  challenge: string;
  rp: { id?: string; name: string };
  user: { id: string; name: string };
}

export interface RequestOptions {
  challenge: string;
  rpId?: string;
}

export interface SoftwareCredential {
  /** base64url credential id. */
  id: string;
  rpId: string;
  /** base64url user handle the server gave at registration. */
  userHandle: string;
  privateKey: KeyObject;
  publicKeyCose: Buffer;
  /** The next assertion reports this + 1 (unless `counting` is false). */
  counter: number;
}

export interface CeremonyOverrides {
  /** The origin the "browser" puts in the client data (default: the authenticator's). */
  origin?: string;
  /** The RP ID whose hash goes into the authenticator data (default: the options'). */
  rpId?: string;
  /** The client data type (default `webauthn.create` / `webauthn.get`). */
  type?: string;
  /** The challenge (default: the options'). */
  challenge?: string;
}

export interface RegistrationOverrides extends CeremonyOverrides {
  /**
   * Attest with a "packed" self-attestation signed with this key instead of "none": the
   * new credential's own key verifies, any other does not.
   */
  selfAttestWith?: KeyObject | "own";
}

export interface AssertionOverrides extends CeremonyOverrides {
  /** Which credential answers (default: the newest for the RP ID). */
  credentialId?: string;
  /** Report this counter instead of the next one (and do not advance). */
  counter?: number;
  /** Put this user handle in the response instead of the credential's (null: none). */
  userHandle?: string | null;
  /** Sign with this key instead of the credential's own. */
  signWith?: KeyObject;
  /** Flag this assertion backed up (synced) or not, whatever the authenticator's `synced`. */
  backedUp?: boolean;
}

export interface SoftwareAuthenticatorOptions {
  /** The origin of the page the "browser" shows, e.g. http://localhost:5173. */
  origin: string;
  /**
   * Count signatures (a security key) or always report 0 (a synced passkey, as iCloud
   * Keychain and Google Password Manager do). Default true.
   */
  counting?: boolean;
  /** Answer `credProps.rk` as a discoverable credential (default true). */
  residentKey?: boolean;
  /** Set the user-verified flag (a PIN or biometric asked for). Default true. */
  userVerifying?: boolean;
  /**
   * Flag the credential as backup eligible and backed up (a passkey synced to a platform
   * account). Default false.
   */
  synced?: boolean;
  /** The transports the browser reports at registration (default `["internal"]`). */
  transports?: string[];
}

export class SoftwareAuthenticator {
  readonly credentials: SoftwareCredential[] = [];
  readonly #origin: string;
  readonly #counting: boolean;
  readonly #residentKey: boolean;
  readonly #flags: number;
  readonly #transports: string[];

  constructor(options: SoftwareAuthenticatorOptions) {
    this.#origin = options.origin;
    this.#counting = options.counting ?? true;
    this.#residentKey = options.residentKey ?? true;
    this.#flags =
      FLAG_UP |
      (options.userVerifying === false ? 0 : FLAG_UV) |
      (options.synced ? FLAG_BE | FLAG_BS : 0);
    this.#transports = options.transports ?? ["internal"];
  }

  /** Make a new credential for the options, as `navigator.credentials.create` would. */
  register(options: CreationOptions, overrides: RegistrationOverrides = {}): RegistrationJSON {
    const rpId = overrides.rpId ?? options.rp.id ?? new URL(this.#origin).hostname;
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = publicKey.export({ format: "jwk" });
    const publicKeyCose = cbor(
      new Map<number, unknown>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(jwk.x as string, "base64url")],
        [-3, Buffer.from(jwk.y as string, "base64url")],
      ]),
    );
    const rawId = randomBytes(32);
    const credential: SoftwareCredential = {
      id: rawId.toString("base64url"),
      rpId,
      userHandle: options.user.id,
      privateKey,
      publicKeyCose,
      counter: 0,
    };
    this.credentials.push(credential);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(rawId.length);
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([this.#flags | FLAG_AT]),
      counterBytes(credential.counter),
      Buffer.alloc(16), // AAGUID: none, as attestation "none" allows
      idLength,
      rawId,
      publicKeyCose,
    ]);
    const clientData = this.#clientData("webauthn.create", options.challenge, overrides);
    const attestWith = overrides.selfAttestWith;
    const attStmt = new Map<string, unknown>();
    if (attestWith) {
      // Self attestation (WebAuthn §8.2): the credential's key signs authData ‖ hash(clientData).
      attStmt.set("alg", -7);
      attStmt.set(
        "sig",
        sign(
          "sha256",
          Buffer.concat([authData, createHash("sha256").update(clientData).digest()]),
          attestWith === "own" ? privateKey : attestWith,
        ),
      );
    }
    const attestationObject = cbor(
      new Map<string, unknown>([
        ["fmt", attestWith ? "packed" : "none"],
        ["attStmt", attStmt],
        ["authData", authData],
      ]),
    );
    return {
      id: credential.id,
      rawId: credential.id,
      type: "public-key",
      response: {
        clientDataJSON: clientData.toString("base64url"),
        attestationObject: attestationObject.toString("base64url"),
        transports: [...this.#transports],
      },
      authenticatorAttachment: "platform",
      clientExtensionResults: { credProps: { rk: this.#residentKey } },
    };
  }

  /** Sign a challenge, as `navigator.credentials.get` would with a discoverable credential. */
  assert(options: RequestOptions, overrides: AssertionOverrides = {}): AssertionJSON {
    const rpId = overrides.rpId ?? options.rpId ?? new URL(this.#origin).hostname;
    const credential = overrides.credentialId
      ? this.credentials.find((c) => c.id === overrides.credentialId)
      : this.credentials.findLast((c) => c.rpId === (options.rpId ?? rpId));
    if (!credential) throw new Error("the software authenticator has no such credential");
    let counter: number;
    if (overrides.counter !== undefined) counter = overrides.counter;
    else if (this.#counting) counter = ++credential.counter;
    else counter = 0;
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([
        overrides.backedUp === undefined
          ? this.#flags
          : (this.#flags & ~(FLAG_BE | FLAG_BS)) | (overrides.backedUp ? FLAG_BE | FLAG_BS : 0),
      ]),
      counterBytes(counter),
    ]);
    const clientData = this.#clientData("webauthn.get", options.challenge, overrides);
    const signature = sign(
      "sha256",
      Buffer.concat([authData, createHash("sha256").update(clientData).digest()]),
      overrides.signWith ?? credential.privateKey,
    );
    const userHandle =
      overrides.userHandle === null ? undefined : (overrides.userHandle ?? credential.userHandle);
    return {
      id: credential.id,
      rawId: credential.id,
      type: "public-key",
      response: {
        clientDataJSON: clientData.toString("base64url"),
        authenticatorData: authData.toString("base64url"),
        signature: signature.toString("base64url"),
        ...(userHandle === undefined ? {} : { userHandle }),
      },
      authenticatorAttachment: "platform",
      clientExtensionResults: {},
    };
  }

  #clientData(type: string, challenge: string, overrides: CeremonyOverrides): Buffer {
    return Buffer.from(
      JSON.stringify({
        type: overrides.type ?? type,
        challenge: overrides.challenge ?? challenge,
        origin: overrides.origin ?? this.#origin,
        crossOrigin: false,
      }),
    );
  }
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

function counterBytes(counter: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(counter);
  return bytes;
}

/** The little CBOR (RFC 8949) WebAuthn needs: integers, strings, byte strings and maps. */
export function cbor(value: unknown): Buffer {
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new Error("cbor: integers only");
    return value >= 0 ? head(0, value) : head(1, -1 - value);
  }
  if (typeof value === "string") {
    const bytes = Buffer.from(value, "utf8");
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  if (value instanceof Map) {
    const parts = [head(5, value.size)];
    for (const [key, item] of value) parts.push(cbor(key), cbor(item));
    return Buffer.concat(parts);
  }
  throw new Error(`cbor: cannot encode ${typeof value}`);
}

function head(major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length]);
  if (length < 0x100) return Buffer.from([(major << 5) | 24, length]);
  if (length < 0x10000) {
    const bytes = Buffer.alloc(3);
    bytes[0] = (major << 5) | 25;
    bytes.writeUInt16BE(length, 1);
    return bytes;
  }
  const bytes = Buffer.alloc(5);
  bytes[0] = (major << 5) | 26;
  bytes.writeUInt32BE(length, 1);
  return bytes;
}
