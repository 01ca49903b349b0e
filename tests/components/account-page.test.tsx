// @vitest-environment jsdom
import "@testing-library/jest-dom/vitest";
import { cleanup, render, screen, within } from "@testing-library/react";
import { createRoutesStub } from "react-router";
import { afterEach, describe, expect, it } from "vitest";
import Account from "../../app/routes/account";

afterEach(cleanup);

const USED = "2026-01-02T03:04:05.000Z";

function renderAccount(methods: { method: string; lastUsedAt: string }[]) {
  const Stub = createRoutesStub([
    {
      path: "/account",
      Component: Account as never,
      HydrateFallback: () => null,
      loader: () => ({
        email: "ada@example.com",
        name: null,
        createdAt: USED,
        methods,
        confirming: false,
      }),
    },
  ]);
  return render(<Stub initialEntries={["/account"]} />);
}

describe("the account page", () => {
  it("names each way of signing in in words, never by adapter id", async () => {
    renderAccount([
      { method: "local", lastUsedAt: USED },
      { method: "passkey", lastUsedAt: USED },
      { method: "workos", lastUsedAt: USED },
      { method: "blockid", lastUsedAt: USED },
      { method: "acme-mail", lastUsedAt: USED },
    ]);
    const items = within(await screen.findByTestId("methods"))
      .getAllByRole("listitem")
      .map((li) => li.textContent);
    expect(items).toEqual([
      "By email link or code, last used 2026-01-02 03:04\u00a0UTC",
      "With a passkey, last used 2026-01-02 03:04\u00a0UTC",
      "By email or your organization's single sign-on, last used 2026-01-02 03:04\u00a0UTC",
      "With 1Kosmos BlockID, last used 2026-01-02 03:04\u00a0UTC",
      "By email, last used 2026-01-02 03:04\u00a0UTC",
    ]);
    expect(screen.getByTestId("methods")).not.toHaveTextContent(/local|workos|acme-mail/);
  });
});
