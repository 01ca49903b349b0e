import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "build/**",
      ".react-router/**",
      "node_modules/**",
      "test-results/**",
      "playwright-report/**",
      "bench/results/**",
      "bench/bare/build/**",
      "bench/bare/.react-router/**",
      "reports/**",
      ".stryker-tmp*/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    plugins: { "react-hooks": reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      "@typescript-eslint/consistent-type-imports": "error",
      // The validators match control characters on purpose (S14, S16).
      "no-control-regex": "off",
      // Option and verify types live in a namespace named after their strategy, as remix-auth's do.
      "@typescript-eslint/no-namespace": "off",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      // Secrets come from node:crypto only (S1).
      "no-restricted-properties": [
        "error",
        {
          object: "Math",
          property: "random",
          message: "Use node:crypto for anything random (S1).",
        },
      ],
    },
  },
  {
    files: ["tests/**", "bench/**"],
    rules: { "no-restricted-properties": "off" },
  },
);
