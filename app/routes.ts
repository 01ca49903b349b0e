import { type RouteConfig, index, route } from "@react-router/dev/routes";

export default [
  index("routes/home.tsx"),
  route("login", "routes/login.tsx"),
  route("login/check", "routes/login.check.tsx"),
  route("login/mfa", "routes/login.mfa.tsx"),
  route("login/status", "routes/login.status.ts"),
  route("auth/link", "routes/auth.link.tsx"),
  route("auth/callback", "routes/auth.callback.tsx"),
  route("auth/passkey", "routes/auth.passkey.ts"),
  route("logout", "routes/logout.tsx"),
  route("dashboard", "routes/dashboard.tsx"),
  route("account", "routes/account.tsx"),
  route("account/deleted", "routes/account.deleted.tsx"),
  route("account/sessions", "routes/account.sessions.tsx"),
  route("account/passkeys", "routes/account.passkeys.tsx"),
  route("account/passkeys/options", "routes/account.passkeys.options.ts"),
  route("dev/mailbox", "routes/dev.mailbox.tsx"),
  route("healthz", "routes/healthz.ts"),
  route("*", "routes/not-found.tsx"),
] satisfies RouteConfig;
