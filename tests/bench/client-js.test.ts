/** The client JS figure (bench/lib/client-js.ts): which files it counts, and how. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientJsFor, scriptsLoadedBy } from "../../bench/lib/client-js";
import { CHROMIUM } from "../../playwright.config";

/**
 * A build's client folder: a manifest as React Router writes it, and the scripts of a page
 * whose entry imports `shared.js` (modulepreloaded), whose route imports it too, which
 * imports `suggest.js` by itself as it opens, and `dialog.js` only on a click.
 */
const PAGE = `<!doctype html><html><head>
<link rel="modulepreload" href="/assets/entry.js"><link rel="modulepreload" href="/assets/shared.js">
<link rel="modulepreload" href="/assets/route.js">
</head><body><button>Open</button>
<script type="module">import "/assets/entry.js"; import "/assets/route.js";</script></body></html>`;

const SCRIPTS: Record<string, string> = {
  "entry.js": `import { shared } from "./shared.js"; shared("entry");`,
  "shared.js": `export function shared(who) { document.body.dataset[who] = "1"; }`,
  "route.js": `import { shared } from "./shared.js"; shared("route");
    setTimeout(() => import("./suggest.js"), 300);
    document.querySelector("button").onclick = () => import("./dialog.js");`,
  "suggest.js": `export const suggest = "${"s".repeat(400)}";`,
  "dialog.js": `export const dialog = "${"d".repeat(400)}";`,
};

const MANIFEST = {
  entry: { module: "/assets/entry.js", imports: ["/assets/shared.js"] },
  routes: {
    root: { id: "root", module: "/assets/entry.js" },
    "routes/page": {
      id: "routes/page",
      module: "/assets/route.js",
      imports: ["/assets/shared.js"],
    },
  },
};

let dir: string;
let server: Server;
let origin: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "client-js-"));
  mkdirSync(join(dir, "assets"));
  writeFileSync(
    join(dir, "assets", "manifest-0123abcd.js"),
    `window.__reactRouterManifest=${JSON.stringify(MANIFEST)};`,
  );
  for (const [name, source] of Object.entries(SCRIPTS)) {
    writeFileSync(join(dir, "assets", name), source);
  }
  server = createServer((request, response) => {
    const name = request.url?.startsWith("/assets/") ? request.url.slice("/assets/".length) : "";
    if (SCRIPTS[name] !== undefined) {
      response.writeHead(200, { "Content-Type": "text/javascript" }).end(SCRIPTS[name]);
    } else if (request.url === "/") {
      response.writeHead(200, { "Content-Type": "text/html" }).end(PAGE);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const gzipped = (name: string) => gzipSync(readFileSync(join(dir, "assets", name))).length;

describe("clientJsFor", () => {
  it("counts the entry and the routes' modules and imports once each, every file gzipped on its own", () => {
    const js = clientJsFor(dir, ["root", "routes/page"]);
    expect(js.files).toEqual(["/assets/entry.js", "/assets/route.js", "/assets/shared.js"]);
    expect(js.lazy).toEqual([]);
    const names = ["entry.js", "route.js", "shared.js"];
    expect(js.bytes).toBe(names.reduce((sum, name) => sum + SCRIPTS[name]!.length, 0));
    expect(js.gzipBytes).toBe(names.reduce((sum, name) => sum + gzipped(name), 0));
  });

  it("adds what the browser loaded beyond the manifest, as lazy, and counts a listed one once", () => {
    const js = clientJsFor(
      dir,
      ["root", "routes/page"],
      ["/assets/entry.js", "/assets/suggest.js", "/assets/suggest.js"],
    );
    expect(js.lazy).toEqual(["/assets/suggest.js"]);
    expect(js.files).toHaveLength(4);
    expect(js.gzipBytes).toBe(
      ["entry.js", "route.js", "shared.js", "suggest.js"].reduce(
        (sum, name) => sum + gzipped(name),
        0,
      ),
    );
  });

  it("refuses a route the manifest does not have", () => {
    expect(() => clientJsFor(dir, ["routes/missing"])).toThrow(/routes\/missing/);
  });
});

describe("scriptsLoadedBy", () => {
  it("sees the chunk a page imports by itself as it opens, and not the one a click would load", async () => {
    const loaded = await scriptsLoadedBy(`${origin}/`, CHROMIUM, 1_000);
    expect(loaded).toEqual([
      "/assets/entry.js",
      "/assets/route.js",
      "/assets/shared.js",
      "/assets/suggest.js",
    ]);
  }, 60_000);
});
