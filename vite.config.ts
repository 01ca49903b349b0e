import { existsSync } from "node:fs";
import { reactRouter } from "@react-router/dev/vite";
import { vanillaExtractPlugin } from "@vanilla-extract/vite-plugin";
import { defineConfig } from "vite";

export default defineConfig(({ command }) => {
  // In development the server reads .env (variables already set in the shell win).
  // Production reads only the real environment.
  if (command === "serve" && existsSync(".env")) process.loadEnvFile(".env");
  return {
    plugins: [vanillaExtractPlugin(), reactRouter()],
    server: { port: 5173 },
    // Rolldown warns when plugins take long; on a busy 2-core machine that is every build,
    // and it says nothing about the app.
    build: { rolldownOptions: { checks: { bundlerTimings: false } } },
    optimizeDeps: {
      // Known up front, so a cold dev server does not re-optimize and reload the first page.
      // The passkey library is a dynamic import the first scan cannot see: found on the first
      // page instead, it would make Vite re-optimize and reload that page mid-typing.
      include: ["@vanilla-extract/recipes/createRuntimeFn", "@simplewebauthn/browser"],
      // Server-only packages the dependency scan finds through *.server.ts imports; the
      // browser never loads them.
      exclude: [
        "@simplewebauthn/server",
        "@workos-inc/node",
        "bullmq",
        "ioredis",
        "nodemailer",
        "remix-auth",
        "zod",
      ],
    },
  };
});
