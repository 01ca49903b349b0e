import type { EmailMessage } from "../../app/mail/types";

/** What a test needs from one sign-in email. */
export interface ReadEmail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** The sign-in link, when the email has one. */
  link?: string;
  /** The link's token (the `token` query parameter), when present. */
  token?: string;
  /** The six-digit code, when the email has one. */
  code?: string;
}

/** Pull the link, its token and the code out of an email, as a person reading it would. */
export function readEmail(message: EmailMessage): ReadEmail {
  const link = /https?:\/\/[^\s"<>]+/.exec(message.text)?.[0];
  const token = link ? (new URL(link).searchParams.get("token") ?? undefined) : undefined;
  const code = /^\s*(\d{6})\s*$/m.exec(message.text)?.[1];
  return {
    to: message.to,
    subject: message.subject,
    text: message.text,
    html: message.html,
    link,
    token,
    code,
  };
}
