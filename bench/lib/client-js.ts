import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

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
  /** Sum of each file's own size. */
  bytes: number;
  /** Sum of each file gzipped on its own (default level, as a server would send it). */
  gzipBytes: number;
}

/**
 * The JavaScript a browser loads for a page: the client entry and, for each route on the
 * page, its module and the chunks it imports, as the build's own manifest lists them (the
 * same list the server turns into modulepreload links).
 */
export function clientJsFor(clientDir: string, routeIds: readonly string[]): ClientJs {
  const manifest = readManifest(clientDir);
  const files = new Set<string>([manifest.entry.module, ...(manifest.entry.imports ?? [])]);
  for (const id of routeIds) {
    const route = manifest.routes[id];
    if (!route) throw new Error(`route ${id} is not in the manifest of ${clientDir}`);
    files.add(route.module);
    for (const file of route.imports ?? []) files.add(file);
  }
  let bytes = 0;
  let gzipBytes = 0;
  for (const file of files) {
    const content = readFileSync(join(clientDir, file));
    bytes += content.length;
    gzipBytes += gzipSync(content).length;
  }
  return { files: [...files].sort(), bytes, gzipBytes };
}

function readManifest(clientDir: string): Manifest {
  const assets = join(clientDir, "assets");
  const name = readdirSync(assets).find((file) => /^manifest-[\w-]+\.js$/.test(file));
  if (!name) throw new Error(`no manifest-*.js in ${assets}`);
  const source = readFileSync(join(assets, name), "utf8");
  const json = source.slice(source.indexOf("=") + 1).replace(/;\s*$/, "");
  return JSON.parse(json) as Manifest;
}
