import {
  isRouteErrorResponse,
  Link,
  Links,
  Meta,
  Outlet,
  Scripts,
  ScrollRestoration,
  useLocation,
  useRouteLoaderData,
} from "react-router";
import type { Route } from "./+types/root";
import { authMiddleware, nonceContext } from "./auth/middleware.server";
import { getUser } from "./auth/flow.server";
import * as ui from "./components/ui.css";
import "./styles/theme.css";

export const middleware: Route.MiddlewareFunction[] = [authMiddleware];

export async function loader({ request, context }: Route.LoaderArgs) {
  const user = await getUser(request);
  return { nonce: context.get(nonceContext), email: user?.email ?? null };
}

export function Layout({ children }: { children: React.ReactNode }) {
  const data = useRouteLoaderData<typeof loader>("root");
  const nonce = data?.nonce;
  // The sign-in page does not offer a link to itself.
  const onSignIn = useLocation().pathname.startsWith("/login");
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
        <Links nonce={nonce} />
      </head>
      <body>
        <header className={ui.header}>
          <Link to="/" className={ui.brand}>
            Passwordless Starter
          </Link>
          <nav className={ui.nav} aria-label="Account">
            {data?.email ? (
              <>
                <Link to="/dashboard">Dashboard</Link>
                <form method="post" action="/logout" className={ui.inlineForm}>
                  <button type="submit" className={ui.button({ kind: "link" })}>
                    Sign out
                  </button>
                </form>
              </>
            ) : onSignIn ? null : (
              <Link to="/login">Sign in</Link>
            )}
          </nav>
        </header>
        <main className={ui.page}>{children}</main>
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}

export function ErrorBoundary({ error }: Route.ErrorBoundaryProps) {
  let title = "Something went wrong";
  let message = "Please try again. If it keeps happening, come back a little later.";
  if (isRouteErrorResponse(error)) {
    if (error.status === 404) {
      title = "Page not found";
      message = "There is nothing at this address.";
    } else if (error.status === 403) {
      title = "Request refused";
      message = "This request did not come from this site.";
    } else if (error.status === 413 || error.status === 415 || error.status === 400) {
      title = "That request could not be read";
      message = typeof error.data === "string" ? error.data : message;
    } else if (error.status === 503) {
      title = "Please try again shortly";
      message = "A service we depend on is not answering right now.";
    }
  }
  return (
    <div className={ui.card}>
      <title>{title}</title>
      <h1 className={ui.heading}>{title}</h1>
      <p className={ui.text}>{message}</p>
      <p className={ui.text}>
        <Link to="/">Go to the home page</Link>
      </p>
    </div>
  );
}
