/**
 * The whole sign-in with `AUTH_ADAPTER=blockid`, through the real route loaders and actions,
 * the strategy, the pending cookie and the session, against the BlockID emulator.
 *
 * The adapter is handed to createServices as an override, built exactly as the registry
 * should build it from the parsed configuration, because the registry entry for "blockid"
 * is wired by its owner; once it is, `adapter` can be dropped from the overrides.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createBlockIdAdapter } from "../../adapters/blockid/index";
import { parseConfig } from "../../app/config.server";
import { createServices, setServices, type Services } from "../../app/services.server";
import * as dashboard from "../../app/routes/dashboard";
import * as link from "../../app/routes/auth.link";
import * as login from "../../app/routes/login";
import { startBlockIdEmulator, type BlockIdEmulator } from "../emulators/blockid/server";

const ORIGIN = "http://app.test";

let emulator: BlockIdEmulator;
let services: Services;
let logged: unknown[];

beforeEach(async () => {
  emulator = await startBlockIdEmulator();
  const config = parseConfig({
    NODE_ENV: "test",
    APP_ORIGIN: ORIGIN,
    SESSION_SECRETS: "a-test-secret-that-is-at-least-32-characters-long",
    AUTH_ADAPTER: "blockid",
    BLOCKID_DNS: emulator.dns,
    BLOCKID_COMMUNITY: emulator.community,
    BLOCKID_LICENSE_KEY: emulator.licenseKey,
    BLOCKID_BASE_URL: emulator.url,
    MAIL_TRANSPORT: "outbox",
  });
  expect(config.adapter).toBe("blockid");
  const { dns, community, licenseKey, baseUrl } = config.blockid;
  logged = [];
  services = createServices(config, {
    limits: null,
    log: (event) => logged.push(event),
    adapter: ({ clock }) =>
      createBlockIdAdapter({
        dns: dns as string,
        community: community as string,
        licenseKey: licenseKey as string,
        baseUrl,
        appName: config.appName,
        ttlSeconds: config.loginTtlSeconds,
        clock,
      }),
  });
  setServices(services);
});

afterEach(async () => {
  setServices(undefined);
  await services.close();
  await emulator.close();
});

/** Route modules' args: only the request is used by these loaders and actions. */
const args = (request: Request) => ({ request, params: {}, context: {} }) as never;

function post(path: string, fields: Record<string, string>, cookie?: string): Request {
  const headers = new Headers({
    "Content-Type": "application/x-www-form-urlencoded",
    Origin: ORIGIN,
  });
  if (cookie) headers.set("Cookie", cookie);
  return new Request(`${ORIGIN}${path}`, {
    method: "POST",
    headers,
    body: new URLSearchParams(fields),
  });
}

/** What a route threw (redirects are thrown) or returned. */
async function settle(run: () => Promise<unknown>): Promise<unknown> {
  try {
    return await run();
  } catch (thrown) {
    return thrown;
  }
}

function cookiesOf(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((line) => line.split(";")[0])
    .join("; ");
}

/** `data()` results carry their status in `init`. */
function statusOf(value: unknown): number | undefined {
  if (value instanceof Response) return value.status;
  return (value as { init?: { status?: number } } | undefined)?.init?.status;
}

async function startSignIn(email: string) {
  const started = await settle(() => login.action(args(post("/login", { email }))));
  expect(started).toBeInstanceOf(Response);
  const response = started as Response;
  expect(response.status).toBe(303);
  const sent = emulator.lastEmailTo(email);
  if (!sent) throw new Error(`no email to ${email}`);
  return { cookie: cookiesOf(response), link: sent.link };
}

describe("sign-in with AUTH_ADAPTER=blockid", () => {
  it("emails a link to the app's page; its GET redeems nothing; its POST signs in", async () => {
    const { cookie, link: emailed } = await startSignIn("ada@example.com");
    expect(emailed.startsWith(`${ORIGIN}/auth/link?token=`)).toBe(true);
    const token = new URL(emailed).searchParams.get("token") as string;

    // Scanners fetch the link: nothing is looked up or redeemed (S7).
    for (let i = 0; i < 3; i += 1) {
      const page = await link.loader(args(new Request(emailed)));
      expect(page).toEqual({ token });
    }
    expect(
      emulator.requests.filter((r) => r.route === "fetch" || r.route === "redeem"),
    ).toHaveLength(0);

    const done = await settle(() => link.action(args(post("/auth/link", { token }, cookie))));
    expect(done).toBeInstanceOf(Response);
    const response = done as Response;
    expect(response.status).toBe(303);
    expect(response.headers.get("Location")).not.toContain(token);

    const signedIn = await dashboard.loader(
      args(new Request(`${ORIGIN}/dashboard`, { headers: { Cookie: cookiesOf(response) } })),
    );
    expect(signedIn).toMatchObject({ email: "ada@example.com", adapter: "blockid" });
    // The log records each step, never the code or the address (S28).
    expect(logged.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(logged)).not.toContain(token);
    expect(JSON.stringify(logged)).not.toContain("ada@example.com");
  });

  it("refuses the link in another browser and keeps it usable where the sign-in started (S8)", async () => {
    const { cookie, link: emailed } = await startSignIn("ada@example.com");
    const token = new URL(emailed).searchParams.get("token") as string;

    const elsewhere = await settle(() => link.action(args(post("/auth/link", { token }))));
    expect(statusOf(elsewhere)).toBe(403);
    expect(emulator.requests.filter((r) => r.route === "redeem")).toHaveLength(0);

    const done = (await settle(() =>
      link.action(args(post("/auth/link", { token }, cookie))),
    )) as Response;
    expect(done.status).toBe(303);
    const again = await settle(() => link.action(args(post("/auth/link", { token }, cookie))));
    expect(statusOf(again)).not.toBe(303);
  });

  it("answers an expired link and an unavailable BlockID with pages, not 500s", async () => {
    const first = await startSignIn("ada@example.com");
    emulator.advance(601_000);
    const expired = await settle(() =>
      link.action(
        args(
          post(
            "/auth/link",
            { token: new URL(first.link).searchParams.get("token") as string },
            first.cookie,
          ),
        ),
      ),
    );
    expect(statusOf(expired)).toBe(400);
    expect((expired as { data: { error: { code: string } } }).data.error.code).toBe("expired");

    const second = await startSignIn("bob@example.com");
    emulator.fault("all", "error");
    const down = await settle(() =>
      link.action(
        args(
          post(
            "/auth/link",
            { token: new URL(second.link).searchParams.get("token") as string },
            second.cookie,
          ),
        ),
      ),
    );
    expect(statusOf(down)).toBe(503);
    expect((down as { data: { error: { code: string } } }).data.error.code).toBe("unavailable");
  });
});
