import type { Config } from "@react-router/dev/config";

export default {
  ssr: true,
  // The origin check lives in one place, app/auth/middleware.server.ts (S25): it compares
  // `Origin` with the configured APP_ORIGIN, which stays right behind a TLS-terminating
  // proxy, answers 403, and covers resource routes too. React Router's own check compares
  // with the Host-derived request URL instead, so it is handed over to ours.
  allowedActionOrigins: ["**"],
} satisfies Config;
