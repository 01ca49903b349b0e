import type { Proof } from "../../../adapters/types";
import type { Outbox } from "../../../app/mail/outbox.server";
import type { ProofKind } from "../suite";

/** The link and code in the newest email the app sent to `email` (its own template). */
export function readAppEmail(
  outbox: Outbox,
  email: string,
): { link?: string; code?: string } | undefined {
  const message = outbox.latestTo(email);
  if (!message) return undefined;
  return {
    link: /https?:\/\/\S+/.exec(message.text)?.[0],
    code: /^(\d{6})$/m.exec(message.text)?.[1],
  };
}

/** A proof from the app's own email: the `token` of its link, or its code. */
export function appEmailProof(outbox: Outbox, email: string, kind: ProofKind): Proof | undefined {
  const found = readAppEmail(outbox, email);
  if (!found) return undefined;
  if (kind === "code" && found.code) return { kind: "code", email, code: found.code };
  const token = found.link ? new URL(found.link).searchParams.get("token") : null;
  if (kind === "link" && token) return { kind: "link", token };
  return undefined;
}
