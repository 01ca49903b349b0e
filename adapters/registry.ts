import type { AdapterName, Config } from "../app/config.server";
import type { Clock } from "../app/lib/clock";
import type { Mailer } from "../app/mail/types";
import type { Store } from "../app/store/types";
import { AuthError } from "./errors";
import { createLocalAdapter } from "./local";
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
    createLocalAdapter({ store, mailer, hashKey, clock, ttlSeconds: config.loginTtlSeconds, appName: config.appName }),
  "workos-magic-link": notYet("workos-magic-link"),
  "workos-magic-auth": notYet("workos-magic-auth"),
  workos: notYet("workos"),
  blockid: notYet("blockid"),
};

function notYet(name: string): AdapterFactory {
  return () => {
    throw new AuthError("misconfigured", `The ${name} adapter is not available in this build`);
  };
}

export function createAdapter(name: AdapterName, deps: AdapterDependencies): AuthAdapter {
  return adapterFactories[name](deps);
}
