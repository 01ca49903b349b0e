import { Link, Links, Meta, Outlet, Scripts, ScrollRestoration } from "react-router";
import * as ui from "../../../app/components/ui.css";
import "../../../app/styles/theme.css";

/**
 * The starter's document shell (app/root.tsx) as a signed-out visitor gets it, with none of
 * its machinery: no middleware, no session, no CSP nonce, no security headers. The markup and
 * the CSS are the starter's own (its vanilla-extract files are imported, so the class names
 * and the stylesheet are the same), and `npm run bench` checks that the two documents match
 * before it compares them. Keep it in step with app/root.tsx.
 */
export function loader() {
  return { email: null };
}

export function Layout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <meta
          name="description"
          content="Sign in with your email address: a link or a code by email, no password."
        />
        <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
        <link rel="icon" href="/favicon.ico" sizes="32x32" />
        <Meta />
        <Links />
      </head>
      <body>
        <header className={ui.header}>
          <Link to="/" className={ui.brand}>
            Passwordless Starter
          </Link>
          <nav className={ui.nav} aria-label="Account">
            <Link to="/login">Sign in</Link>
          </nav>
        </header>
        <main className={ui.page}>{children}</main>
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}
