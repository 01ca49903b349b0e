export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Sends one email. Throws on failure; the caller decides what the person sees. */
export interface Mailer {
  send(message: EmailMessage): Promise<void>;
}
