/**
 * The three WorkOS adapter modules (`workos-magic-link`, `workos-magic-auth` and `workos`,
 * Magic Link with Magic Auth as its fallback). They share one set of variables and one way
 * of building the client.
 */
import {
  flag,
  got,
  integer,
  invalid,
  oneOf,
  secret,
  text,
  variable,
  type Values,
} from "../../app/lib/variables";
import { withFallback } from "../fallback";
import { defineAdapter, type AdapterDependencies } from "../module";
import { withRedirect } from "../redirect";
import type { AuthAdapter } from "../types";
import { createWorkosClient, parseWorkosApiUrl, type WorkosClient } from "./client.server";
import { createWorkosMagicAuthAdapter, WORKOS_MAGIC_AUTH } from "./magic-auth.server";
import { createWorkosMagicLinkAdapter, WORKOS_MAGIC_LINK } from "./magic-link.server";
import { createWorkosSsoAdapter } from "./sso.server";

const SSO_PAIR = /^([a-z0-9-]+(?:\.[a-z0-9-]+)+):(org_[A-Za-z0-9]+)$/i;

/** `WORKOS_SSO_DOMAINS`: "example.com:org_123,example.org:org_456" → domain → organization. */
function ssoDomains(value: string) {
  const domains: Record<string, string> = {};
  for (const entry of value.split(",").map((part) => part.trim())) {
    if (!entry) continue;
    const match = SSO_PAIR.exec(entry);
    if (!match) {
      return invalid(
        `must be domain:organization pairs separated by commas, like example.com:org_01H…${got(entry)}`,
      );
    }
    domains[(match[1] as string).toLowerCase()] = match[2] as string;
  }
  return domains;
}

export const workosVariables = {
  WORKOS_API_KEY: secret({ required: true }),
  WORKOS_CLIENT_ID: text({ required: true }),
  WORKOS_API_URL: variable(
    (value) => {
      try {
        parseWorkosApiUrl(value);
        return value;
      } catch {
        // The SDK ignores a path, so one would silently reach the wrong place.
        return invalid(
          `must be an origin like https://api.workos.com or http://127.0.0.1:8787, with no path${got(value)}`,
        );
      }
    },
    { default: "https://api.workos.com" },
  ),
  WORKOS_TIMEOUT_MS: integer({ default: 10_000, min: 100, max: 60_000, unit: "milliseconds" }),
  WORKOS_MAX_RETRIES: integer({ default: 2, min: 0, max: 5 }),
  WORKOS_EMAIL: oneOf(["workos", "app"], { default: "workos" }),
  // Enterprise SSO by email domain: configured pairs, and/or WorkOS's organization domains.
  WORKOS_SSO_DOMAINS: variable(ssoDomains, { default: {} }),
  WORKOS_SSO_LOOKUP: flag(),
};

type WorkosValues = Values<typeof workosVariables>;

/** What both WorkOS adapters are built from; the combined one shares a single client. */
function adapterOptions(deps: AdapterDependencies, values: WorkosValues) {
  return {
    client: createWorkosClient({
      apiKey: values.WORKOS_API_KEY,
      clientId: values.WORKOS_CLIENT_ID,
      apiUrl: values.WORKOS_API_URL,
      timeoutMs: values.WORKOS_TIMEOUT_MS,
      maxRetries: values.WORKOS_MAX_RETRIES,
    }),
    emailMode: values.WORKOS_EMAIL,
    mailer: deps.mailer,
    appName: deps.config.appName,
  };
}

/**
 * With `WORKOS_SSO_DOMAINS` or `WORKOS_SSO_LOOKUP`: addresses at SSO domains go to their
 * organization's identity provider, every other address keeps `email`.
 */
function withSso(
  deps: AdapterDependencies,
  values: WorkosValues,
  client: WorkosClient,
  email: AuthAdapter,
): AuthAdapter {
  if (Object.keys(values.WORKOS_SSO_DOMAINS).length === 0 && !values.WORKOS_SSO_LOOKUP)
    return email;
  return withRedirect(
    email,
    createWorkosSsoAdapter({
      client,
      domains: values.WORKOS_SSO_DOMAINS,
      lookup: values.WORKOS_SSO_LOOKUP,
      store: deps.store,
      appName: deps.config.appName,
    }),
  );
}

// WorkOS sends its own email unless WORKOS_EMAIL=app hands the link or code to our mailer.
const sendsMail = (values: Partial<WorkosValues>) => values.WORKOS_EMAIL === "app";

export const workosMagicLinkAdapter = defineAdapter({
  name: WORKOS_MAGIC_LINK,
  variables: workosVariables,
  sendsMail,
  create: (deps, values) => {
    const options = adapterOptions(deps, values);
    return withSso(deps, values, options.client, createWorkosMagicLinkAdapter(options));
  },
});

export const workosMagicAuthAdapter = defineAdapter({
  name: WORKOS_MAGIC_AUTH,
  variables: workosVariables,
  sendsMail,
  create: (deps, values) => {
    const options = adapterOptions(deps, values);
    return withSso(deps, values, options.client, createWorkosMagicAuthAdapter(options));
  },
});

export const workosAdapter = defineAdapter({
  name: "workos",
  variables: workosVariables,
  // A WorkOS API key alone means "use WorkOS" when AUTH_ADAPTER is unset.
  impliedBy: "WORKOS_API_KEY",
  sendsMail,
  create: (deps, values) => {
    const options = adapterOptions(deps, values);
    // Magic Link, with Magic Auth when passwordless sessions are down and for "email me a
    // code instead" after a scanner used the link.
    const email = withFallback(
      createWorkosMagicLinkAdapter(options),
      createWorkosMagicAuthAdapter(options),
      { name: "workos" },
    );
    return withSso(deps, values, options.client, email);
  },
});
