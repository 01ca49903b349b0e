// @vitest-environment jsdom
import "@testing-library/jest-dom/vitest";
import { cleanup, render, screen } from "@testing-library/react";
import { createRoutesStub } from "react-router";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as link from "../../app/routes/auth.link";
import * as check from "../../app/routes/login.check";
import * as login from "../../app/routes/login";
import { createTestApp, renderRoute, type TestApp } from "../support/auth";

let app: TestApp;
beforeEach(() => {
  app = createTestApp();
});
afterEach(async () => {
  cleanup();
  await app.close();
});

describe("the emailed link's page", () => {
  it("offers Continue, and after a refused Continue shows why instead of 'incomplete'", async () => {
    await renderRoute(link, { url: "/auth/link?token=abc", path: "/auth/link" });
    await userEvent.click(await screen.findByRole("button", { name: "Continue" }));
    // No pending sign-in in this browser: the real strategy refuses (S8).
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "Open this in the browser where you started",
    );
    expect(screen.queryByText("This link is incomplete")).toBeNull();
  });

  it("without JavaScript, the page after a refused Continue (no token in its URL) shows the error", async () => {
    // A document POST to /auth/link renders the loader's data (no token) with the action's error.
    const Stub = createRoutesStub([
      {
        id: "link",
        path: "/auth/link",
        Component: link.default as never,
        HydrateFallback: () => null,
      },
    ]);
    render(
      <Stub
        initialEntries={["/auth/link"]}
        hydrationData={{
          loaderData: { link: { token: "" } },
          actionData: { link: { error: { code: "not_same_browser" } } },
        }}
      />,
    );
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "Open this in the browser where you started",
    );
    expect(screen.queryByText("This link is incomplete")).toBeNull();
    expect(screen.queryByRole("button", { name: "Continue" })).toBeNull();
  });

  it("says a link without a token is incomplete", async () => {
    await renderRoute(link, { url: "/auth/link", path: "/auth/link" });
    expect(await screen.findByText("This link is incomplete")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Continue" })).toBeNull();
  });
});

describe("sign-in page headers", () => {
  it("keep Retry-After from a rate-limited answer, and are never cached", () => {
    for (const route of [login, check, link]) {
      const headers = route.headers({
        actionHeaders: new Headers({ "Retry-After": "42" }),
        loaderHeaders: new Headers(),
      } as never);
      expect(headers.get("Retry-After")).toBe("42");
      expect(headers.get("Cache-Control")).toBe("no-store");
    }
  });
});
