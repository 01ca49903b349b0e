import { Link } from "react-router";

export const meta = () => [
  { title: "Bare React Router" },
  {
    name: "description",
    content: "A page of about the size of the starter's home page, with nothing else.",
  },
];

// Filler text standing in for the bytes of the starter's class names and CSP nonces.
const NOTES = [
  "Server rendering with a root layout, meta tags, links, scroll restoration and scripts.",
  "One loader per route, serialised into the document for hydration, as in any framework-mode app.",
  "No middleware of its own, no cookies, no session, no security headers beyond the defaults.",
  "Built by the benchmark from this folder with the same React Router version as the starter.",
  "Served by react-router-serve on 127.0.0.1, like the starter, with NODE_ENV=production.",
  "Measured in the same run and interleaved with the starter, so the machine's noise cancels out.",
  "Its client JavaScript is the baseline for what the sign-in page adds.",
  "Nothing here reads a cookie, verifies a signature, decrypts a payload or checks an expiry.",
  "Nothing here sets a Content-Security-Policy, a nonce, or any header the starter adds to its pages.",
  "The figures are ratios: the starter's requests per second divided by these, in the same run.",
  "A ratio near one means the starter's shell costs close to nothing over the framework itself.",
];

/** A loader, as the starter's home page has one: the data round-trip is part of the anchor. */
export async function loader() {
  return { email: null as string | null, greeting: "Welcome" };
}

export default function Home({
  loaderData,
}: {
  loaderData: { email: string | null; greeting: string };
}) {
  return (
    <section>
      <h1>{loaderData.greeting}</h1>
      <p>{loaderData.email ? `Signed in as ${loaderData.email}.` : "You are not signed in."}</p>
      <p>
        <Link to="/">Go to the home page</Link>: this fixture renders a document of about the same
        size as the starter&apos;s public page, so that the ratio measures the starter&apos;s own
        work, not the bytes.
      </p>
      <ul>
        {NOTES.map((note) => (
          <li key={note}>{note}</li>
        ))}
      </ul>
    </section>
  );
}
