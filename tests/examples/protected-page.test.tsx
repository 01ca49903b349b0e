// @vitest-environment jsdom
// Example: a component test of a protected page, signed in and signed out.
import "@testing-library/jest-dom/vitest";
import { cleanup, screen } from "@testing-library/react";
import { afterEach, beforeEach, expect, it } from "vitest";
import * as dashboard from "../../app/routes/dashboard";
import { createTestApp, renderRoute, type TestApp } from "../support/auth";

let app: TestApp;
beforeEach(() => {
  app = createTestApp(); // real sessions, test clock, in-memory store
});
afterEach(async () => {
  cleanup();
  await app.close();
});

it("shows the signed-in person's email", async () => {
  await renderRoute(dashboard, { url: "/dashboard", user: { email: "ada@example.com" } });
  expect(await screen.findByTestId("user-email")).toHaveTextContent("ada@example.com");
});

it("sends a signed-out visitor to sign in", async () => {
  await renderRoute(dashboard, { url: "/dashboard" });
  expect(await screen.findByText("Sign-in page")).toBeInTheDocument();
});
