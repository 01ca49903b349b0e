// The production server (`npm start`): Express serving the built app.
//
// Unlike react-router-serve it logs paths without query strings, so a sign-in link's token
// never reaches the access log (S28), and it hands the socket's address to the app, so the
// per-IP limits work without a proxy (S12). Behind a proxy, set TRUST_PROXY.
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";

// Before anything loads React or React Router, which pick their build from NODE_ENV.
process.env.NODE_ENV ??= "production";
const { createRequestHandler } = await import("@react-router/express");
const { default: compression } = await import("compression");
const { default: express } = await import("express");

// The socket address travels in a header whose name is random per process and known only
// to the app (through globalThis), so no client can forge it.
const addressHeader = `x-client-address-${randomBytes(12).toString("hex")}`;
globalThis[Symbol.for("passwordless-starter.client-address-header")] = addressHeader;

// Importing the build parses the configuration: a bad one exits here, before listening.
const build = await import("./build/server/index.js");

const app = express();
app.disable("x-powered-by");
// The app's headers for every response (entry.server.tsx), so that static files, /healthz
// and Express's own error pages carry them too. Added as the headers go out, and only where
// the app did not set them itself (its pages do; a second copy would read "nosniff, nosniff").
const responseHeaders = Object.entries(build.entry.module.RESPONSE_HEADERS ?? {});
app.use((req, res, next) => {
  const writeHead = res.writeHead;
  res.writeHead = function (...args) {
    for (const [name, value] of responseHeaders) {
      if (!res.hasHeader(name)) res.setHeader(name, value);
    }
    return writeHead.apply(this, args);
  };
  next();
});
app.use(compression());
app.use("/assets", express.static("build/client/assets", { immutable: true, maxAge: "1y" }));
// The other files of build/client (favicon, robots.txt, …) are listed once at start and served
// by exact path, so a page request never costs a filesystem lookup.
const clientFiles = publicFiles("build/client");
const serveClientFile = express.static("build/client", { maxAge: "1h", index: false });
app.use((req, res, next) => (clientFiles.has(req.path) ? serveClientFile(req, res, next) : next()));
app.use((req, res, next) => {
  req.headers[addressHeader] = req.socket.remoteAddress ?? "";
  const started = process.hrtime.bigint();
  res.on("finish", () => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    process.stdout.write(`${req.method} ${req.path} ${res.statusCode} ${ms.toFixed(1)} ms\n`);
  });
  next();
});
// Everything else is the app (Express 5 has no bare "*" path; a middleware matches all).
app.use(createRequestHandler({ build, mode: process.env.NODE_ENV }));

const port = Number(process.env.PORT || 3000);
const host = process.env.HOST || "0.0.0.0";
const server = app.listen(port, host, () => {
  const { port: actual } = server.address();
  console.log(`Listening on http://${host}:${actual}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => server.close(() => process.exit(0)));
}

/** URL paths of the files under `dir`, except assets/ (served above with its own caching). */
function publicFiles(dir) {
  const files = new Set();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = `${entry.parentPath}/${entry.name}`.slice(dir.length);
    if (!path.startsWith("/assets/")) files.add(path);
  }
  return files;
}
