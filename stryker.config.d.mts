// The one field of stryker.config.mjs that TypeScript code reads (tests/mutation-preload.ts).
declare const config: { readonly mutate: readonly string[] };
export default config;
