import type { EmailMessage } from "./types";

export interface SignInEmailInput {
  to: string;
  appName: string;
  /** The app's landing page URL with the token; absent when only a code was issued. */
  link?: string;
  /** The six-digit code; absent when only a link was issued. */
  code?: string;
  expiresInMinutes: number;
  /**
   * Whether the link opens a page with a Continue button (the app's own landing page,
   * default) or signs in straight away in the starting browser (a provider's redirect).
   */
  continueStep?: boolean;
}

/**
 * The one sign-in email: HTML and plain text from the same facts. Every interpolated value
 * is escaped, the link is the only anchor, and nothing is loaded from elsewhere.
 */
export function renderSignInEmail(input: SignInEmailInput): EmailMessage {
  const { appName, link, code, expiresInMinutes } = input;
  const openLink =
    input.continueStep === false
      ? "Open this link in the browser where you asked to sign in:"
      : "Open this link, then press Continue:";
  const minutes = `${expiresInMinutes} minute${expiresInMinutes === 1 ? "" : "s"}`;
  const subject = `Sign in to ${appName}`;
  const lifetime = link && code ? "link and code expire" : link ? "link expires" : "code expires";
  const ignore =
    "If you did not ask to sign in, you can ignore this email: nobody can sign in without it.";

  const text = [
    `Sign in to ${appName}`,
    "",
    ...(link ? [openLink, link, ""] : []),
    ...(code
      ? [
          link
            ? "Or enter this code in the tab where you started:"
            : "Enter this code in the tab where you started:",
          code,
          "",
        ]
      : []),
    `This ${lifetime} in ${minutes} and ${link && code ? "work" : "works"} once.`,
    "",
    ignore,
    "",
  ].join("\n");

  const html = htmlDocument(
    subject,
    `<h1 style="font-size: 20px;">Sign in to ${escapeHtml(appName)}</h1>
  ${
    link
      ? `<p>${input.continueStep === false ? escapeHtml(openLink) : "Open this link, then press <strong>Continue</strong>:"}</p>
  <p><a href="${escapeHtml(link)}" style="color: ${LINK};">Sign in to ${escapeHtml(appName)}</a></p>`
      : ""
  }
  ${code ? `<p>${link ? "Or enter this code" : "Enter this code"} in the tab where you started:</p>\n  ${codeBox(code)}` : ""}
  <p>This ${lifetime} in ${escapeHtml(minutes)} and ${link && code ? "work" : "works"} once.</p>
  <p style="color: ${MUTED};">${escapeHtml(ignore)}</p>`,
  );
  return { to: input.to, subject, text, html };
}

export interface DeletionEmailInput {
  to: string;
  appName: string;
  /** The six-digit code that confirms the deletion. */
  code: string;
  expiresInMinutes: number;
}

/** The email whose code confirms deleting an account (app/auth/account.server.ts). */
export function renderDeletionEmail(input: DeletionEmailInput): EmailMessage {
  const { appName, code } = input;
  const minutes = `${input.expiresInMinutes} minute${input.expiresInMinutes === 1 ? "" : "s"}`;
  const subject = `Confirm deleting your ${appName} account`;
  const effect =
    "Deleting removes your account, its sign-in methods and passkeys, and signs you out everywhere.";
  const ignore =
    "If you did not ask for this, ignore this email: nothing happens without the code.";
  const text = `Your code to delete your ${appName} account:\n\n${code}\n\nIt works for ${minutes}, once, in the browser where you asked. ${effect} ${ignore}\n`;
  const html = htmlDocument(
    subject,
    `<p>Your code to delete your ${escapeHtml(appName)} account:</p>
  ${codeBox(code)}
  <p>It works for ${escapeHtml(minutes)}, once, in the browser where you asked. ${escapeHtml(effect)}</p>
  <p style="color: ${MUTED};">${escapeHtml(ignore)}</p>`,
  );
  return { to: input.to, subject, text, html };
}

// Explicit background and text colours everywhere: dark-mode mail clients invert or
// darken what is left unset, which can leave dark text on a dark background.
const PAGE = "#ffffff";
const TEXT = "#111111";
const MUTED = "#555555";
const LINK = "#2b35a8";
const CODE_BACKGROUND = "#f3f4f6";

/** A whole HTML document: a head with the charset and the subject as title, a painted body. */
function htmlDocument(subject: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<meta name="supported-color-schemes" content="light">
<title>${escapeHtml(subject)}</title>
</head>
<body style="margin: 0; padding: 24px; background: ${PAGE}; background-color: ${PAGE}; font-family: system-ui, sans-serif; line-height: 1.5; color: ${TEXT};">
  ${body}
</body>
</html>
`;
}

/** A code, large and boxed, with its own colours. */
function codeBox(code: string): string {
  return `<p style="font-size: 28px; letter-spacing: 4px; font-weight: bold; color: ${TEXT}; background-color: ${CODE_BACKGROUND}; padding: 8px 12px; display: inline-block;"><code>${escapeHtml(code)}</code></p>`;
}

export function escapeHtml(value: string): string {
  return value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}
