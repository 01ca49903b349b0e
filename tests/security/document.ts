/**
 * The whole request handler, as `react-router-serve` runs it, without a build step: the
 * route config (app/routes.ts), the real route modules, the root middleware and the real
 * document entry (app/entry.server.tsx, which sets the CSP and the other page headers).
 *
 * `callRoute` (tests/support/auth.ts) runs one loader or action inside the middleware; this
 * runs everything a browser's request goes through, including route `headers()` exports,
 * server rendering and React Router's own handling of data requests. It is what the header
 * tests (S17, S23, CSP) need, because those headers are set outside loaders and actions.
 */
import {
  createRequestHandler,
  UNSAFE_withComponentProps,
  UNSAFE_withErrorBoundaryProps,
  type ServerBuild,
} from "react-router";
import * as entry from "../../app/entry.server";
import * as root from "../../app/root";
import routeConfig from "../../app/routes";

type ServerRoute = NonNullable<ServerBuild["routes"][string]>;
type RouteModule = ServerRoute["module"];

const modules = import.meta.glob<RouteModule>("../../app/routes/*.{ts,tsx}");

interface ConfigEntry {
  id?: string;
  file: string;
  path?: string;
  index?: boolean;
  children?: ConfigEntry[];
}

/** What the React Router Vite plugin does to each route module: hand components their props. */
function asBuilt(module: RouteModule): RouteModule {
  const source = module as unknown as Record<string, unknown>;
  const built: Record<string, unknown> = { ...source };
  if (typeof source.default === "function")
    built.default = UNSAFE_withComponentProps(source.default as never);
  if (typeof source.ErrorBoundary === "function")
    built.ErrorBoundary = UNSAFE_withErrorBoundaryProps(source.ErrorBoundary as never);
  return built as unknown as RouteModule;
}

async function buildRoutes(): Promise<ServerBuild["routes"]> {
  const routes: ServerBuild["routes"] = {
    root: { id: "root", path: "", module: asBuilt(root as unknown as RouteModule) },
  };
  const add = async (entries: readonly ConfigEntry[], parentId: string) => {
    for (const config of entries) {
      const id = config.id ?? config.file.replace(/\.[jt]sx?$/, "");
      const load = modules[`../../app/${config.file}`];
      if (!load) throw new Error(`No route module for ${config.file}`);
      routes[id] = {
        id,
        parentId,
        path: config.path,
        index: config.index,
        module: asBuilt(await load()),
      };
      if (config.children) await add(config.children, id);
    }
  };
  await add(routeConfig as readonly ConfigEntry[], "root");
  return routes;
}

function assetsFor(routes: ServerBuild["routes"]): ServerBuild["assets"] {
  const manifest: ServerBuild["assets"]["routes"] = {};
  for (const [id, route] of Object.entries(routes) as Array<[string, ServerRoute]>) {
    const module = route.module as unknown as Record<string, unknown>;
    manifest[id] = {
      id,
      parentId: route.parentId,
      path: route.path,
      index: route.index,
      hasAction: typeof module.action === "function",
      hasLoader: typeof module.loader === "function",
      hasClientAction: false,
      hasClientLoader: false,
      hasClientMiddleware: false,
      hasErrorBoundary: typeof module.ErrorBoundary === "function",
      module: `/assets/${id}.js`,
      imports: [],
      clientActionModule: undefined,
      clientLoaderModule: undefined,
      clientMiddlewareModule: undefined,
      hydrateFallbackModule: undefined,
    };
  }
  return {
    entry: { module: "/assets/entry.client.js", imports: [] },
    routes: manifest,
    url: "/assets/manifest-test.js",
    version: "test",
  };
}

/** A request handler over the app's source: `(request) => Promise<Response>`. */
export async function createDocumentHandler(): Promise<(request: Request) => Promise<Response>> {
  const routes = await buildRoutes();
  const build: ServerBuild = {
    entry: { module: entry as unknown as ServerBuild["entry"]["module"] },
    routes,
    assets: assetsFor(routes),
    basename: "/",
    publicPath: "/",
    assetsBuildDirectory: "build/client",
    future: {
      v8_middleware: true,
      unstable_optimizeDeps: false,
      unstable_subResourceIntegrity: false,
    } as unknown as ServerBuild["future"],
    ssr: true,
    isSpaMode: false,
    prerender: [],
    routeDiscovery: { mode: "lazy", manifestPath: "/__manifest" },
    // As react-router.config.ts: the origin check is the middleware's (S25).
    allowedActionOrigins: ["**"],
  };
  const handler = createRequestHandler(build, "production");
  return (request) => handler(request);
}
