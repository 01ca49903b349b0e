import { blockIdAdapter } from "./blockid";
import { localAdapter } from "./local";
import type { AdapterDependencies, AdapterModule } from "./module";
import type { AuthAdapter } from "./types";
import {
  workosAdapter,
  workosMagicAuthAdapter,
  workosMagicLinkAdapter,
} from "./workos/module.server";

export type { AdapterDependencies, AdapterModule } from "./module";

/**
 * Every adapter the app can run, one line each; `AUTH_ADAPTER` picks one by name. A module
 * carries its name, its variables and its capabilities (./module.ts), and
 * app/config.server.ts reads them from here. To add a provider: write its module with
 * `defineAdapter`, add it to this list, and run the conformance suite against it
 * (adapters/README.md).
 */
export const ADAPTERS = [
  localAdapter,
  workosMagicLinkAdapter,
  workosMagicAuthAdapter,
  workosAdapter,
  blockIdAdapter,
] as const satisfies readonly AdapterModule[];

export type AdapterName = (typeof ADAPTERS)[number]["name"];

export const ADAPTER_NAMES = ADAPTERS.map((module) => module.name);

/** The adapter used when `AUTH_ADAPTER` is unset and no module's `impliedBy` variable is. */
export const DEFAULT_ADAPTER: AdapterName = "local";

export function adapterModule(name: string): AdapterModule {
  const module = ADAPTERS.find((candidate) => candidate.name === name);
  if (!module) throw new Error(`No adapter module named ${name}`);
  return module;
}

/** The configured adapter, built from its module with the variables the configuration read. */
export function createAdapter(deps: AdapterDependencies): AuthAdapter {
  const { adapter, adapterVariables } = deps.config;
  return adapterModule(adapter).create(deps, adapterVariables);
}

/**
 * The adapter for an environment without `AUTH_ADAPTER`: the first module whose `impliedBy`
 * variable is set (a WorkOS API key means WorkOS), else {@link DEFAULT_ADAPTER}.
 */
export function impliedAdapter(
  env: Record<string, string | undefined>,
  adapters: readonly AdapterModule[] = ADAPTERS,
): { name: string; because?: string } {
  for (const module of adapters) {
    const variable = module.impliedBy;
    if (variable && env[variable]?.trim()) return { name: module.name, because: variable };
  }
  return { name: DEFAULT_ADAPTER };
}
