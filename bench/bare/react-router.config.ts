import type { Config } from "@react-router/dev/config";

// The anchor of the benchmark: the same React Router version and the same SSR setting as the
// starter, with none of its auth. Middleware is always on in React Router 8, so the comparison isolates what
// the starter's own middleware, loaders and components cost.
export default {
  ssr: true,
} satisfies Config;
