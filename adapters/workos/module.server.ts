/**
 * The three WorkOS adapter modules (`workos-magic-link`, `workos-magic-auth` and `workos`,
 * Magic Link with Magic Auth as its fallback). They share one set of variables and one way
 * of building the client.
 */
import {
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
import { createWorkosClient, parseWorkosApiUrl } from "./client.server";
import { createWorkosMagicAuthAdapter, WORKOS_MAGIC_AUTH } from "./magic-auth.server";
import { createWorkosMagicLinkAdapter, WORKOS_MAGIC_LINK } from "./magic-link.server";

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

// WorkOS sends its own email unless WORKOS_EMAIL=app hands the link or code to our mailer.
const sendsMail = (values: Partial<WorkosValues>) => values.WORKOS_EMAIL === "app";

export const workosMagicLinkAdapter = defineAdapter({
  name: WORKOS_MAGIC_LINK,
  variables: workosVariables,
  sendsMail,
  create: (deps, values) => createWorkosMagicLinkAdapter(adapterOptions(deps, values)),
});

export const workosMagicAuthAdapter = defineAdapter({
  name: WORKOS_MAGIC_AUTH,
  variables: workosVariables,
  sendsMail,
  create: (deps, values) => createWorkosMagicAuthAdapter(adapterOptions(deps, values)),
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
    return withFallback(
      createWorkosMagicLinkAdapter(options),
      createWorkosMagicAuthAdapter(options),
      { name: "workos" },
    );
  },
});
