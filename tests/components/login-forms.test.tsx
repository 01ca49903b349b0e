// @vitest-environment jsdom
import "@testing-library/jest-dom/vitest";
import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { createRoutesStub } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import Login from "../../app/routes/login";
import CheckEmail from "../../app/routes/login.check";

afterEach(cleanup);

function stub(routes: Parameters<typeof createRoutesStub>[0], path: string) {
  const Stub = createRoutesStub(routes.map((r) => ({ HydrateFallback: () => null, ...r })));
  return render(<Stub initialEntries={[path]} />);
}

const LINK_AND_CODE = { link: true, code: true };

describe("the login form", () => {
  it.each([
    [{ link: true, code: true }, "a link and a code", "Email me a link and a code"],
    [{ link: true, code: false }, "a link;", "Email me a sign-in link"],
    [{ link: false, code: true }, "a code;", "Email me a sign-in code"],
  ])("promises what the adapter delivers (%o)", async (delivers, what, button) => {
    stub(
      [{ path: "/login", Component: Login as never, loader: () => ({ returnTo: "/", delivers }) }],
      "/login",
    );
    expect(await screen.findByRole("button", { name: button })).toBeInTheDocument();
    expect(document.body.textContent).toContain(`We will send you ${what}`);
  });

  it("has a labelled email field and keeps the return path", async () => {
    stub(
      [
        {
          path: "/login",
          Component: Login as never,
          loader: () => ({ returnTo: "/dashboard?x=1", delivers: LINK_AND_CODE }),
        },
      ],
      "/login",
    );
    const field = await screen.findByLabelText("Email address");
    expect(field).toHaveAttribute("name", "email");
    expect(field).toHaveAttribute("type", "email");
    expect(document.querySelector('input[name="returnTo"]')).toHaveValue("/dashboard?x=1");
  });

  it("shows the error the action returns, links it to the field, and moves focus to it", async () => {
    stub(
      [
        {
          path: "/login",
          Component: Login as never,
          loader: () => ({ returnTo: "/dashboard", delivers: LINK_AND_CODE }),
          action: () => ({ error: { code: "invalid_input" } }),
        },
      ],
      "/login",
    );
    await userEvent.type(await screen.findByLabelText("Email address"), "nope");
    await userEvent.click(screen.getByRole("button", { name: "Email me a link and a code" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Enter one email address");
    expect(screen.getByLabelText("Email address")).toHaveAttribute("aria-describedby", alert.id);
    expect(screen.getByLabelText("Email address")).toHaveAttribute("aria-invalid", "true");
    await waitFor(() => expect(alert).toHaveFocus());
  });

  it("asks for the address when the action says the field was empty", async () => {
    stub(
      [
        {
          path: "/login",
          Component: Login as never,
          loader: () => ({ returnTo: "/dashboard", delivers: LINK_AND_CODE }),
          action: () => ({ error: { code: "invalid_input", empty: true } }),
        },
      ],
      "/login",
    );
    await userEvent.click(
      await screen.findByRole("button", { name: "Email me a link and a code" }),
    );
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Enter your email address");
    expect(alert).not.toHaveTextContent("Check what you typed");
    expect(screen.getByLabelText("Email address")).toHaveAttribute("aria-invalid", "true");
  });

  it("shows a pending state while the action runs", async () => {
    let release: () => void = () => {};
    stub(
      [
        {
          path: "/login",
          Component: Login as never,
          loader: () => ({ returnTo: "/dashboard", delivers: LINK_AND_CODE }),
          action: () =>
            new Promise((resolve) => (release = () => resolve({ error: { code: "unavailable" } }))),
        },
      ],
      "/login",
    );
    await userEvent.type(await screen.findByLabelText("Email address"), "a@b.co");
    await userEvent.click(screen.getByRole("button", { name: "Email me a link and a code" }));
    expect(await screen.findByRole("button", { name: "Sending…" })).toBeDisabled();
    release();
    expect(await screen.findByRole("alert")).toHaveTextContent("unavailable right now");
  });
});

describe("the check-email page", () => {
  const pending = {
    email: "person@example.com",
    delivered: { link: true, code: true },
    canSendCode: false,
    minutes: 10,
    delivery: { state: "sent", sentAt: "2030-01-01T14:02:05.000Z", settled: true },
  };

  const page = (delivery: object) =>
    stub(
      [
        {
          path: "/login/check",
          Component: CheckEmail as never,
          loader: () => ({ ...pending, delivery }),
        },
      ],
      "/login/check",
    );

  it("says how the email is doing, in a status element tests can read", async () => {
    const cases: Array<[object, string, string]> = [
      [{ state: "queued", settled: false }, "queued", "Sending…"],
      [
        { state: "retrying", settled: false },
        "retrying",
        "Your email provider is slow to answer; still trying",
      ],
      [
        { state: "sent", sentAt: "2030-01-01T14:02:05.000Z", settled: true },
        "sent",
        "Sent at 2030-01-01 14:02 UTC",
      ],
      [
        {
          state: "sent",
          sentAt: "2030-01-01T14:02:05.000Z",
          sentSecondsAgo: 20,
          againInSeconds: 40,
          settled: true,
        },
        "sent",
        "Sent 20 s ago — use that email, or send again in 40 s",
      ],
      [{ state: "failed", settled: true }, "failed", "We could not send it to this address"],
      // The provider sends it: we know when it took the request, not when it sent.
      [
        { state: "sent", sentAt: "2030-01-01T14:02:05.000Z", settled: true, by: "provider" },
        "sent",
        "Our sign-in provider took it at 2030-01-01 14:02 UTC",
      ],
      [
        { state: "sent", sentAt: "2030-01-01T14:02:05.000Z", settled: true, by: "provider" },
        "sent",
        "our sign-in provider is sending a link and a code to it; we cannot see when it arrives",
      ],
      [
        {
          state: "sent",
          sentAt: "2030-01-01T14:02:05.000Z",
          sentSecondsAgo: 20,
          againInSeconds: 40,
          settled: true,
          by: "provider",
        },
        "sent",
        "Asked for 20 s ago — use that email, or send again in 40 s",
      ],
    ];
    for (const [delivery, state, words] of cases) {
      const { unmount } = page(delivery);
      const status = await screen.findByRole("status");
      expect(status).toHaveAttribute("data-delivery", state);
      expect(status).toHaveTextContent(words);
      if (state === "failed") {
        // Nothing arrived: no code to type, and the way out is to send it again.
        expect(screen.queryByLabelText("Six-digit code")).toBeNull();
        expect(screen.getByRole("button", { name: "Send it again" })).toBeInTheDocument();
      }
      unmount();
    }
  });

  it("with JavaScript, asks /login/status every 2 s until the email is sent", async () => {
    const asked: string[] = [];
    const fetchSpy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      asked.push(String(input));
      return Response.json({ state: "sent", sentAt: "2030-01-01T14:02:05.000Z", settled: true });
    });
    try {
      page({ state: "queued", settled: false });
      const status = await screen.findByRole("status");
      expect(status).toHaveAttribute("data-delivery", "queued");
      await waitFor(() => expect(status).toHaveAttribute("data-delivery", "sent"), {
        timeout: 5_000,
      });
      expect(status).toHaveTextContent("Sent at 2030-01-01 14:02 UTC");
      expect(asked).toEqual(["/login/status"]);
    } finally {
      fetchSpy.mockRestore();
    }
  });

  it("stops asking after a minute and says so, rather than 'still trying' as if it checked", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let asked = 0;
    const fetchSpy = vi.spyOn(globalThis, "fetch").mockImplementation(async () => {
      asked += 1;
      return Response.json({ state: "retrying", settled: false });
    });
    try {
      page({ state: "retrying", settled: false });
      const status = await screen.findByRole("status");
      await act(() => vi.advanceTimersByTimeAsync(30_000));
      expect(status).not.toHaveTextContent("stopped checking");
      await act(() => vi.advanceTimersByTimeAsync(40_000));
      await waitFor(() => expect(status).toHaveTextContent("This page has stopped checking"));
      expect(screen.getByRole("link", { name: "Reload it" })).toHaveAttribute(
        "href",
        "/login/check",
      );
      // Every 2 s for a minute, then no more.
      const after = asked;
      expect(after).toBeGreaterThanOrEqual(28);
      expect(after).toBeLessThanOrEqual(31);
      await act(() => vi.advanceTimersByTimeAsync(20_000));
      expect(asked).toBe(after);
      expect(status).toHaveAttribute("data-delivery", "retrying");
    } finally {
      fetchSpy.mockRestore();
      vi.useRealTimers();
    }
  });

  it("offers a code field when a code was delivered, and a way to send again", async () => {
    stub(
      [{ path: "/login/check", Component: CheckEmail as never, loader: () => pending }],
      "/login/check",
    );
    const code = await screen.findByLabelText("Six-digit code");
    expect(code).toHaveAttribute("name", "code");
    expect(code).toHaveAttribute("autocomplete", "one-time-code");
    expect(screen.getByRole("button", { name: "Send it again" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Email me a code instead" })).toBeNull();
  });

  it("has no code field for a link-only delivery, and offers a code when the adapter can send one", async () => {
    stub(
      [
        {
          path: "/login/check",
          Component: CheckEmail as never,
          loader: () => ({ ...pending, delivered: { link: true, code: false }, canSendCode: true }),
        },
      ],
      "/login/check",
    );
    await screen.findByRole("heading", { name: "Check your email" });
    expect(screen.queryByLabelText("Six-digit code")).toBeNull();
    expect(screen.getByRole("button", { name: "Email me a code instead" })).toBeInTheDocument();
  });

  it("says how long to wait when rate limited", async () => {
    stub(
      [
        {
          path: "/login/check",
          Component: CheckEmail as never,
          loader: () => pending,
          action: () => ({ error: { code: "rate_limited", retryAfter: 42 } }),
        },
      ],
      "/login/check",
    );
    await userEvent.type(await screen.findByLabelText("Six-digit code"), "123456");
    await userEvent.click(screen.getByRole("button", { name: "Sign in with code" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Try again in 42 seconds");
  });
});
