import { existsSync } from "node:fs";
import { reactRouter } from "@react-router/dev/vite";
import { vanillaExtractPlugin } from "@vanilla-extract/vite-plugin";
import { defineConfig } from "vite";

/**
 * React, React DOM and React Router in one chunk. Left to itself the bundler cuts them into
 * pieces by which routes import what (an app with many routes gets more pieces), and every
 * page loads all of them anyway: the entry needs React DOM and the root layout React Router.
 * One chunk is fewer requests and compresses better. The bare app of the benchmark
 * (bench/bare/vite.config.ts) is built with the same groups, so its client JS is packed the
 * same way as the starter's.
 */
export const clientChunks = {
  groups: [
    { name: "framework", test: /node_modules[\\/](react|react-dom|react-router|scheduler)[\\/]/ },
  ],
};

export default defineConfig(({ command }) => {
  // In development the server reads .env (variables already set in the shell win).
  // Production reads only the real environment.
  if (command === "serve" && existsSync(".env")) process.loadEnvFile(".env");
  return {
    plugins: [vanillaExtractPlugin(), reactRouter()],
    server: { port: 5173 },
    // Rolldown warns when plugins take long; on a busy 2-core machine that is every build,
    // and it says nothing about the app.
    build: {
      rolldownOptions: {
        checks: { bundlerTimings: false },
        output: { codeSplitting: clientChunks },
      },
    },
    optimizeDeps: {
      // Known up front, so a cold dev server does not re-optimize and reload the first page.
      // The passkey library is a dynamic import the first scan cannot see: found when the
      // passkeys page first adds one, it would make Vite re-optimize and reload that page.
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
