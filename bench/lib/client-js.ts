import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { chromium } from "@playwright/test";

interface ManifestRoute {
  module: string;
  imports?: string[];
}

interface Manifest {
  entry: ManifestRoute;
  routes: Record<string, ManifestRoute>;
}

export interface ClientJs {
  files: string[];
  /**
   * Of `files`, those the manifest does not list: chunks the page imports on its own while
   * it opens (a dynamic `import()` run on first paint, not after a click).
   */
  lazy: string[];
  /** Sum of each file's own size. */
  bytes: number;
  /** Sum of each file gzipped on its own (default level, as a server would send it). */
  gzipBytes: number;
}

/**
 * The JavaScript a browser loads for a page: the client entry and, for each route on the
 * page, its module and the chunks it imports, as the build's own manifest lists them (the
 * same list the server turns into modulepreload links), and the scripts a real browser
 * fetched besides while it opened the page (`loaded`, from `scriptsLoadedBy`). Each file
 * counts once.
 */
export function clientJsFor(
  clientDir: string,
  routeIds: readonly string[],
  loaded: readonly string[] = [],
): ClientJs {
  const manifest = readManifest(clientDir);
  const listed = new Set<string>([manifest.entry.module, ...(manifest.entry.imports ?? [])]);
  for (const id of routeIds) {
    const route = manifest.routes[id];
    if (!route) throw new Error(`route ${id} is not in the manifest of ${clientDir}`);
    listed.add(route.module);
    for (const file of route.imports ?? []) listed.add(file);
  }
  const lazy = [...new Set(loaded)].filter((file) => !listed.has(file)).sort();
  const files = [...listed, ...lazy];
  let bytes = 0;
  let gzipBytes = 0;
  for (const file of files) {
    const content = readFileSync(join(clientDir, file));
    bytes += content.length;
    gzipBytes += gzipSync(content).length;
  }
  return { files: files.sort(), lazy, bytes, gzipBytes };
}

/** How long the network must stay quiet before the page counts as opened, ms. */
const QUIET_MS = 2_000;

/**
 * The same-origin scripts (paths such as `/assets/root-abc.js`) that Chromium fetches while
 * it opens `url`: after the load event, until the page has been idle and no request has
 * started for `quietMs`. This catches what the manifest cannot list: a chunk a component
 * imports from an effect as the page hydrates (the browser's passkey suggestions start on
 * first paint, for one). Chromium supports WebAuthn and conditional mediation, so the
 * passkey code takes the path it takes for most visitors.
 */
export async function scriptsLoadedBy(
  url: string,
  executablePath: string,
  quietMs = QUIET_MS,
): Promise<string[]> {
  const origin = new URL(url).origin;
  const browser = await chromium.launch({
    executablePath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  try {
    const page = await browser.newPage();
    const scripts = new Set<string>();
    let lastRequest = Date.now();
    page.on("request", (request) => {
      lastRequest = Date.now();
      const at = new URL(request.url());
      if (at.origin === origin && at.pathname.endsWith(".js")) scripts.add(at.pathname);
    });
    await page.goto(url, { waitUntil: "load" });
    for (;;) {
      // An idle callback runs once hydration's work is done; then the network must stay quiet.
      await page.evaluate(
        () => new Promise<void>((done) => requestIdleCallback(() => done(), { timeout: 5_000 })),
      );
      const quiet = Date.now() - lastRequest;
      if (quiet >= quietMs) break;
      await page.waitForTimeout(quietMs - quiet);
    }
    return [...scripts].sort();
  } finally {
    await browser.close();
  }
}

function readManifest(clientDir: string): Manifest {
  const assets = join(clientDir, "assets");
  const name = readdirSync(assets).find((file) => /^manifest-[\w-]+\.js$/.test(file));
  if (!name) throw new Error(`no manifest-*.js in ${assets}`);
  const source = readFileSync(join(assets, name), "utf8");
  const json = source.slice(source.indexOf("=") + 1).replace(/;\s*$/, "");
  return JSON.parse(json) as Manifest;
}
