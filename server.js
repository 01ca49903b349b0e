// The production server (`npm start`): Express serving the built app.
//
// Unlike react-router-serve it logs paths without query strings, so a sign-in link's token
// never reaches the access log (S28), and it hands the socket's address to the app, so the
// per-IP limits work without a proxy (S12). Behind a proxy, set TRUST_PROXY.
//
// It also fails cleanly (S33): requests the app could not even represent get a 4xx and one
// log line before they reach it, and SIGTERM/SIGINT drain within SHUTDOWN_TIMEOUT.
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
// Set once shutdown starts; /healthz reads it (app/lib/lifecycle.server.ts).
const DRAINING = Symbol.for("passwordless-starter.draining");

// Importing the build parses the configuration: a bad one exits here, before listening.
const build = await import("./build/server/index.js");
/** The app's services (app/services.server.ts), built when the build was imported. */
const services = () => globalThis[Symbol.for("passwordless-starter.services")];

// Methods the Fetch API refuses to put in a Request (the app could not even be asked).
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

/** One access-log line: method, path (never the query: S28), status, duration. */
function logLine(req, status, ms, note = "") {
  // A malformed path is logged as received, with control characters escaped.
  const path = req.path.replace(
    /[\u0000-\u001f\u007f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16)}`,
  );
  const method = req.method.slice(0, 16);
  process.stdout.write(
    `${method} ${path} ${status} ${ms.toFixed(1)} ms${note ? ` (${note})` : ""}\n`,
  );
}

/** Answer a request that never reaches the app: a short text, one log line, no stack trace. */
function refuse(req, res, status, why, headers = {}) {
  res.set({ ...headers, "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" });
  res.status(status).send(`${status === 405 ? "Method Not Allowed" : "Bad Request"}\n`);
  logLine(req, status, 0, why);
}

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
app.use((req, res, next) => {
  // Draining: finish this request, then close the socket, so kept-alive clients go away
  // instead of holding the server open (S33).
  if (globalThis[DRAINING]) res.set("Connection", "close");
  if (FORBIDDEN_METHODS.has(req.method)) {
    return refuse(req, res, 405, "method not allowed", { Allow: "GET, HEAD, POST" });
  }
  // HTTP/1.1 without Host is refused by Node itself; HTTP/1.0 may omit it. Without a host
  // the request has no URL to build (and the app never trusts Host for links anyway).
  if (!req.headers.host?.trim()) return refuse(req, res, 400, "no Host header");
  try {
    decodeURIComponent(req.path);
  } catch {
    return refuse(req, res, 400, "malformed percent-encoding");
  }
  next();
});
// The health check, answered here ahead of compression, the static files and React Router:
// a probe carries no session and renders no page, so it skips their per-request work (the
// Fetch Request and Response, the route match, the auth middleware) and costs a fraction
// of a page. Same JSON, status and headers as the app's own /healthz route (app/lib/health.server.ts).
const { checkHealth } = build.entry.module;
app.get("/healthz", (req, res, next) => {
  const started = process.hrtime.bigint();
  checkHealth().then(({ status, body }) => {
    const json = JSON.stringify(body);
    // No ETag or freshness check (res.json would hash the body): it is never cached.
    res.writeHead(status, {
      "Content-Type": "application/json; charset=utf-8",
      "Content-Length": Buffer.byteLength(json),
      "Cache-Control": "no-store",
    });
    // Logged before the answer goes out, as every line of this server's own answers is.
    logLine(req, status, Number(process.hrtime.bigint() - started) / 1e6);
    res.end(req.method === "HEAD" ? undefined : json);
  }, next);
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
  res.on("finish", () =>
    logLine(req, res.statusCode, Number(process.hrtime.bigint() - started) / 1e6),
  );
  next();
});
// Everything else is the app (Express 5 has no bare "*" path; a middleware matches all).
app.use(createRequestHandler({ build, mode: process.env.NODE_ENV }));
// Whatever still fails outside the app (a body or a file that could not be read): a 4xx
// stays a 4xx, anything else is one line in the log, never a stack trace per request.
app.use((error, req, res, _next) => {
  const status = Number(error?.status ?? error?.statusCode);
  if (res.headersSent) return res.destroy();
  if (status >= 400 && status < 500) return refuse(req, res, status, error.message);
  process.stderr.write(`[server] ${req.method} ${req.path}: ${error?.message ?? error}\n`);
  res.status(500).type("text/plain").send("Internal Server Error\n");
});

const port = Number(process.env.PORT || 3000);
const host = process.env.HOST || "0.0.0.0";
const server = app.listen(port, host, () => {
  const { port: actual } = server.address();
  console.log(`Listening on http://${host}:${actual}`);
});

/**
 * Stop accepting, let requests in flight finish (each answered with Connection: close,
 * /healthz with 503), close the store, exit. After SHUTDOWN_TIMEOUT seconds whatever is
 * still open is cut, so a deploy never waits on clients that keep sending. A second signal
 * cuts at once.
 */
let stopping = false;
async function shutdown(signal) {
  if (stopping) return exit(1, `${signal} again: stopping now`);
  stopping = true;
  globalThis[DRAINING] = true;
  const seconds = services()?.config.shutdownTimeoutSeconds ?? 10;
  console.log(`[server] ${signal}: draining (at most ${seconds} s)`);
  const timer = setTimeout(
    () => exit(1, `still busy after ${seconds} s: closing what is left`),
    seconds * 1000,
  );
  timer.unref();
  await new Promise((resolve) => {
    server.close(resolve);
    // Kept-alive sockets with no request in flight go now; busy ones after their response.
    server.closeIdleConnections();
  });
  clearTimeout(timer);
  await exit(0);
}

let exiting;
function exit(code, why) {
  exiting ??= (async () => {
    if (why) console.log(`[server] ${why}`);
    server.closeAllConnections();
    try {
      await services()?.close();
    } catch (error) {
      process.stderr.write(`[server] closing the store failed: ${error?.message ?? error}\n`);
    }
    process.exit(code);
  })();
  return exiting;
}

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => void shutdown(signal));

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
