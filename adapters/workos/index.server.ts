/** The WorkOS adapters and their shared client; see adapters/README.md. */
export { createWorkosClient, parseWorkosApiUrl } from "./client.server";
export type { WorkosClient, WorkosClientOptions } from "./client.server";
export { callbackErrorToAuthError, classifyDescription, mapWorkosError } from "./errors";
export type {
  MapWorkosErrorContext,
  WorkosFailureLog,
  WorkosLogger,
  WorkosOperation,
} from "./errors";
export { createWorkosMagicAuthAdapter, WORKOS_MAGIC_AUTH } from "./magic-auth.server";
export type { WorkosMagicAuthAdapterOptions } from "./magic-auth.server";
export { createWorkosMagicLinkAdapter, WORKOS_MAGIC_LINK } from "./magic-link.server";
export type { WorkosEmailMode, WorkosMagicLinkAdapterOptions } from "./magic-link.server";
export { createWorkosSsoAdapter, WORKOS_SSO } from "./sso.server";
export type { WorkosSsoAdapterOptions } from "./sso.server";
export { workosMfa } from "./mfa.server";
export type { WorkosMfaOptions } from "./mfa.server";
export { workosSessionEnding } from "./sessions.server";
export { sessionFromAccessToken } from "./identity";
