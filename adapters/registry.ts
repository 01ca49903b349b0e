import type { AdapterName, Config } from "../app/config.server";
import type { Clock } from "../app/lib/clock";
import type { Mailer } from "../app/mail/types";
import type { Store } from "../app/store/types";
import { createBlockIdAdapter } from "./blockid";
import { withFallback } from "./fallback";
import { createLocalAdapter } from "./local";
import {
  createWorkosClient,
  createWorkosMagicAuthAdapter,
  createWorkosMagicLinkAdapter,
} from "./workos/index.server";
import type { AuthAdapter } from "./types";

/** What every adapter factory may draw on. */
export interface AdapterDependencies {
  config: Config;
  store: Store;
  mailer: Mailer;
  clock: Clock;
  /** 32-byte key for keyed hashes (S5), derived from the session secret. */
  hashKey: Uint8Array;
}

export type AdapterFactory = (deps: AdapterDependencies) => AuthAdapter;

/**
 * `AUTH_ADAPTER` → factory. To add a provider: write a factory that returns an
 * {@link AuthAdapter}, add its name to ADAPTER_NAMES in app/config.server.ts and an entry
 * here, and run the conformance suite against it (adapters/README.md).
 */
export const adapterFactories: Record<AdapterName, AdapterFactory> = {
  local: ({ config, store, mailer, clock, hashKey }) =>
    createLocalAdapter({
      store,
      mailer,
      hashKey,
      clock,
      ttlSeconds: config.loginTtlSeconds,
      graceSeconds: config.loginGraceSeconds,
      appName: config.appName,
    }),
  "workos-magic-link": (deps) => magicLink(deps),
  "workos-magic-auth": (deps) => magicAuth(deps),
  // Magic Link, with Magic Auth when passwordless sessions are down and for "email me a
  // code instead" after a scanner used the link.
  workos: (deps) => withFallback(magicLink(deps), magicAuth(deps), { name: "workos" }),
  blockid: ({ config, clock }) =>
    createBlockIdAdapter({
      dns: config.blockid.dns as string,
      community: config.blockid.community as string,
      licenseKey: config.blockid.licenseKey as string,
      baseUrl: config.blockid.baseUrl,
      appName: config.appName,
      ttlSeconds: config.loginTtlSeconds,
      clock,
    }),
};

function workosClient({ config }: AdapterDependencies) {
  return createWorkosClient({
    apiKey: config.workos.apiKey as string,
    clientId: config.workos.clientId as string,
    apiUrl: config.workos.apiUrl,
    timeoutMs: config.workos.timeoutMs,
    maxRetries: config.workos.maxRetries,
  });
}

function magicLink(deps: AdapterDependencies) {
  return createWorkosMagicLinkAdapter({
    client: workosClient(deps),
    emailMode: deps.config.workos.email,
    mailer: deps.mailer,
    appName: deps.config.appName,
  });
}

function magicAuth(deps: AdapterDependencies) {
  return createWorkosMagicAuthAdapter({
    client: workosClient(deps),
    emailMode: deps.config.workos.email,
    mailer: deps.mailer,
    appName: deps.config.appName,
  });
}

export function createAdapter(name: AdapterName, deps: AdapterDependencies): AuthAdapter {
  return adapterFactories[name](deps);
}
