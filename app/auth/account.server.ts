/**
 * "Delete my account", confirmed by a code emailed to the account's address: the person
 * proves the inbox again, so a borrowed or stolen session alone cannot delete anyone.
 */
import { renderDeletionEmail } from "../mail/template";
import { deriveKey, hmacHex, randomCode, safeEqual } from "../lib/crypto.server";
import { hashEmail } from "../lib/log.server";
import { getServices } from "../services.server";
import type { SessionInfo } from "./session.server";
import type { User } from "./users.server";

/** A deletion code lives ten minutes at most, like a sign-in code (S2). */
const CODE_TTL_MS = 10 * 60_000;
/** Wrong codes before the pending deletion dies (S10). */
const MAX_TRIES = 5;

const codeKey = (sessionId: string) => `account:delete:${sessionId}`;
const triesKey = (sessionId: string) => `account:delete-tries:${sessionId}`;

function hashOf(code: string): string {
  const { config } = getServices();
  return hmacHex(deriveKey(config.loginHashSecret, "account-delete"), code);
}

export type SendOutcome = { sent: true } | { sent: false; retryAfter: number };

/**
 * Email a six-digit code that confirms deleting `user`'s account from this session. The
 * code is bound to the session that asked (stored under its id, as a keyed hash: S5), and a
 * new code replaces the older one (S4). The send budgets of sign-in apply (S11).
 */
export async function sendDeletionCode(
  request: Request,
  session: SessionInfo,
  user: User,
): Promise<SendOutcome> {
  const services = getServices();
  const info = services.requestInfo(request);
  if (services.limits) {
    const decision = await services.limits.allowSend(user.email, info.ip);
    if (!decision.allowed) return { sent: false, retryAfter: decision.retryAfterSeconds };
  }
  const code = randomCode();
  await Promise.all([
    services.store.set(
      codeKey(session.id),
      JSON.stringify({ uid: user.id, hash: hashOf(code) }),
      CODE_TTL_MS,
    ),
    services.store.delete(triesKey(session.id)),
  ]);
  await services.mailer.send(
    renderDeletionEmail({
      to: user.email,
      appName: services.config.appName,
      code,
      expiresInMinutes: CODE_TTL_MS / 60_000,
    }),
  );
  services.log({ step: "user", outcome: "delete_code_sent", emailHash: hashEmail(user.email) });
  return { sent: true };
}

/** Whether this session has a deletion code pending (the page then asks for it). */
export async function deletionPending(session: SessionInfo): Promise<boolean> {
  return (await getServices().store.get(codeKey(session.id))) !== null;
}

export type ConfirmOutcome = "deleted" | "wrong" | "expired" | "too_many_attempts";

/**
 * Check the code and, when it is right, delete the account: every session on every device,
 * the passkeys and whatever else the cleanups in app/services.server.ts remove, then the user
 * and its identities. The code is single use (an atomic take, S3) and dies after five wrong
 * tries (S10); the comparison is on keyed hashes in constant time (S6).
 */
export async function confirmDeletion(
  session: SessionInfo,
  user: User,
  code: string,
): Promise<ConfirmOutcome> {
  const services = getServices();
  const raw = await services.store.get(codeKey(session.id));
  if (raw === null) return "expired";
  const pending = JSON.parse(raw) as { uid: string; hash: string };
  if (pending.uid !== user.id) return "expired";
  const tries = await services.store.increment(triesKey(session.id), CODE_TTL_MS);
  if (tries > MAX_TRIES) {
    await services.store.delete(codeKey(session.id));
    return "too_many_attempts";
  }
  const digits = code.replace(/[\s-]/g, "");
  if (!/^\d{6}$/.test(digits) || !safeEqual(hashOf(digits), pending.hash)) return "wrong";
  // Of two confirmations at once, only the one that takes the record deletes.
  if ((await services.store.take(codeKey(session.id))) === null) return "expired";
  await services.store.delete(triesKey(session.id));
  await services.users.deleteAccount(user.id);
  return "deleted";
}
