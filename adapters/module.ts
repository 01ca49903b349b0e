/**
 * An adapter module: everything the app needs to know about one `AUTH_ADAPTER` value, in
 * the adapter's own file. The registry (./registry.ts) lists the modules; the configuration
 * (app/config.server.ts) reads the chosen module's variables and capabilities from it, so
 * adding a provider means writing its module and adding one registry line.
 */
import type { Config } from "../app/config.server";
import type { Clock } from "../app/lib/clock";
import type { PartialValues, Values, Variables } from "../app/lib/variables";
import type { Mailer } from "../app/mail/types";
import type { Store } from "../app/store/types";
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

/** What an adapter's checks know besides its own variables. */
export interface AdapterCheckContext {
  production: boolean;
  /** The `AUTH_ADAPTER` value that chose this module. */
  name: string;
}

/** An adapter module as its author writes it; see {@link defineAdapter}. */
export interface AdapterDefinition<Name extends string, V extends Variables> {
  /** The `AUTH_ADAPTER` value. */
  name: Name;
  /**
   * The variables only this adapter reads, declared with the helpers of app/lib/variables.ts
   * (defaults and `required` included). They are read only when this adapter is chosen, and
   * "is required" is completed with "for AUTH_ADAPTER=<name>". Several modules may share
   * one object (the three WorkOS adapters do).
   */
  variables: V;
  /**
   * When `AUTH_ADAPTER` is unset, this adapter is chosen if this variable is set (the first
   * module in the registry that matches wins; `local` otherwise).
   */
  impliedBy?: keyof V & string;
  /**
   * Rules that tie its variables together, one sentence per problem. A variable that failed
   * to parse is absent from `values`; test with `parsed()` before comparing.
   */
  check?(values: PartialValues<V>, context: AdapterCheckContext): string[];
  /**
   * Whether the app itself sends the sign-in email (so production needs `MAIL_TRANSPORT`),
   * rather than the provider. Sees the values that parsed.
   */
  sendsMail(values: PartialValues<V>): boolean;
  /** Build the adapter from the shared dependencies and its own parsed variables. */
  create(deps: AdapterDependencies, values: Values<V>): AuthAdapter;
}

/** A module as the registry holds it: its variables' types are the module's own business. */
export interface AdapterModule<Name extends string = string> {
  readonly name: Name;
  readonly variables: Variables;
  readonly impliedBy?: string;
  check(values: Readonly<Record<string, unknown>>, context: AdapterCheckContext): string[];
  sendsMail(values: Readonly<Record<string, unknown>>): boolean;
  create(deps: AdapterDependencies, values: Readonly<Record<string, unknown>>): AuthAdapter;
}

/**
 * Declare an adapter module. The variables' types flow into `check`, `sendsMail` and
 * `create`; the registry sees only the erased {@link AdapterModule}.
 *
 * @example
 * export const acmeAdapter = defineAdapter({
 *   name: "acme",
 *   variables: { ACME_API_KEY: secret({ required: true }) },
 *   sendsMail: () => false,
 *   create: ({ clock }, { ACME_API_KEY }) => createAcmeAdapter({ apiKey: ACME_API_KEY, clock }),
 * });
 */
export function defineAdapter<const Name extends string, V extends Variables>(
  definition: AdapterDefinition<Name, V>,
): AdapterModule<Name> {
  return {
    name: definition.name,
    variables: definition.variables,
    impliedBy: definition.impliedBy,
    // The configuration hands back exactly what it parsed with `variables`, so the values
    // have the declared types; this is the one place that says so.
    check: (values, context) => definition.check?.(values as PartialValues<V>, context) ?? [],
    sendsMail: (values) => definition.sendsMail(values as PartialValues<V>),
    create: (deps, values) => definition.create(deps, values as Values<V>),
  };
}
