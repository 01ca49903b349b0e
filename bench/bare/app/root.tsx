import { Link, Links, Meta, Outlet, Scripts, ScrollRestoration } from "react-router";
import "./app.css";

/** The same document shell as the starter's root, minus the session and the CSP nonce. */
export function Layout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <Meta />
        <Links />
      </head>
      <body>
        <header>
          <Link to="/">Bare React Router</Link>
          <nav aria-label="Account">
            <Link to="/">Home</Link>
          </nav>
        </header>
        <main>{children}</main>
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}
