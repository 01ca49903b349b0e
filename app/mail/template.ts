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
    `This ${link && code ? "link and code expire" : link ? "link expires" : "code expires"} in ${minutes} and work once.`,
    "",
    ignore,
    "",
  ].join("\n");

  // Explicit background and text colours everywhere: dark-mode mail clients invert or
  // darken what is left unset, which can leave dark text on a dark background.
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<meta name="supported-color-schemes" content="light">
<title>${escapeHtml(subject)}</title>
</head>
<body style="margin: 0; padding: 24px; background: #ffffff; background-color: #ffffff; font-family: system-ui, sans-serif; line-height: 1.5; color: #111111;">
  <h1 style="font-size: 20px;">Sign in to ${escapeHtml(appName)}</h1>
  ${
    link
      ? `<p>${input.continueStep === false ? escapeHtml(openLink) : "Open this link, then press <strong>Continue</strong>:"}</p>
  <p><a href="${escapeHtml(link)}" style="color: #2b35a8;">Sign in to ${escapeHtml(appName)}</a></p>`
      : ""
  }
  ${
    code
      ? `<p>${link ? "Or enter this code" : "Enter this code"} in the tab where you started:</p>
  <p style="font-size: 28px; letter-spacing: 4px; font-weight: bold; color: #111111; background-color: #f3f4f6; padding: 8px 12px; display: inline-block;"><code>${escapeHtml(code)}</code></p>`
      : ""
  }
  <p>This ${link && code ? "link and code expire" : link ? "link expires" : "code expires"} in ${escapeHtml(minutes)} and work once.</p>
  <p style="color: #555;">${escapeHtml(ignore)}</p>
</body>
</html>
`;
  return { to: input.to, subject, text, html };
}

export function escapeHtml(value: string): string {
  return value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}
