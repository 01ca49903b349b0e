/**
 * Passkeys in a real Chromium with its virtual authenticator (a CTAP2 platform authenticator
 * with resident keys and user verification, driven over CDP), against the production build
 * on http://localhost:PORT: WebAuthn refuses an IP address as the relying party id.
 */
import type { BrowserContext, CDPSession, Page } from "@playwright/test";
import type { AppServer } from "./support/server";
import {
  audit,
  auditWithoutScripts,
  enterCode,
  expect,
  expectDashboard,
  expectSignedOut,
  main,
  requestSignIn,
  test,
  type Inbox,
} from "./fixtures";

interface VirtualCredential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId: string;
  signCount: number;
}

/** A virtual authenticator on this page, as a phone's or laptop's built-in one. */
async function addAuthenticator(context: BrowserContext, page: Page) {
  const cdp: CDPSession = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    async credentials(): Promise<VirtualCredential[]> {
      const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
      return credentials as VirtualCredential[];
    },
  };
}

/**
 * With its UI off, Chromium answers the page's passkey suggestions (conditional mediation)
 * by itself as soon as the page asks. For the journeys that press the button, the page is
 * told suggestions are unavailable; every `navigator.credentials.get` records its mediation.
 */
async function instrument(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    if (typeof window.PublicKeyCredential !== "function") return;
    if (localStorage.getItem("e2e:autofill") === "off") {
      window.PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    }
    const get = navigator.credentials.get.bind(navigator.credentials);
    navigator.credentials.get = (options?: CredentialRequestOptions) => {
      const seen = JSON.parse(localStorage.getItem("e2e:mediations") ?? "[]") as string[];
      seen.push(options?.mediation ?? "optional");
      localStorage.setItem("e2e:mediations", JSON.stringify(seen));
      return get(options);
    };
  });
}

const setAutofill = (page: Page, on: boolean) =>
  page.evaluate((value) => localStorage.setItem("e2e:autofill", value), on ? "on" : "off");
const mediations = (page: Page) =>
  page.evaluate(() => JSON.parse(localStorage.getItem("e2e:mediations") ?? "[]") as string[]);

async function signInByCode(page: Page, server: AppServer, mail: Inbox, email: string) {
  await requestSignIn(page, server, email);
  const message = await mail.nth(email, 1);
  await enterCode(page, message.code as string);
  await expectDashboard(page, server, email);
}

async function signOut(page: Page, server: AppServer) {
  await page.getByRole("banner").getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(new RegExp(`^${server.url("/")}(\\?signed-out)?$`));
}

test("add a passkey after an email sign-in, sign in with it by the button and by autofill, remove it, and it no longer works", async ({
  page,
  context,
  servers,
  mail,
  address,
  browser,
}) => {
  // One long journey with five audits: generous on a shared, loaded machine.
  test.setTimeout(240_000);
  const server = await servers.get("passkeys");
  expect(server.origin).toMatch(/^http:\/\/localhost:\d+$/);
  await instrument(context);
  const device = await addAuthenticator(context, page);
  const email = address("passkey");

  // Sign in by email, then find the passkeys page from the dashboard.
  await signInByCode(page, server, mail, email);
  await main(page).getByRole("link", { name: "Your passkeys" }).click();
  await expect(page).toHaveURL(server.url("/account/passkeys"));
  await expect(page.getByRole("heading", { level: 1, name: "Your passkeys" })).toBeVisible();
  await expect(page.getByTestId("no-passkeys")).toBeVisible();

  // Add one: the virtual authenticator makes a discoverable credential.
  await page.getByLabel("Name (optional)").fill("Work laptop");
  await main(page).getByRole("button", { name: "Add a passkey" }).click();
  await expect(page.getByText("Passkey added.")).toBeVisible();
  await expect(page.getByTestId("passkeys")).toContainText("Work laptop");
  await expect(page.getByTestId("passkeys")).toContainText("not used yet");
  const [credential] = await device.credentials();
  expect(credential).toMatchObject({ isResidentCredential: true, rpId: "localhost" });
  await audit(page, "passkeys page", { screenshot: "passkeys" });

  // Without JavaScript the same person can still see, rename and remove passkeys.
  const plain = await browser.newContext({
    javaScriptEnabled: false,
    storageState: await context.storageState(),
  });
  try {
    const noScript = await plain.newPage();
    await noScript.goto(server.url("/account/passkeys"));
    await expect(noScript.getByTestId("passkey-unsupported")).toBeVisible();
    await noScript.getByLabel("Name", { exact: true }).fill("My laptop");
    await noScript.getByRole("button", { name: "Rename" }).click();
    await expect(noScript.getByText("Passkey renamed.")).toBeVisible();
    await expect(noScript.getByTestId("passkeys")).toContainText("My laptop");
    await auditWithoutScripts(noScript, "passkeys page");
  } finally {
    await plain.close();
  }
  const signedOutPlain = await browser.newContext({ javaScriptEnabled: false });
  try {
    const noScript = await signedOutPlain.newPage();
    await noScript.goto(server.url("/login"));
    await expect(
      noScript.getByRole("button", {
        name: /^Email me a (sign-in link|sign-in code|link and a code)$/,
      }),
    ).toBeVisible();
    await expect(noScript.getByRole("button", { name: "Sign in with a passkey" })).toHaveCount(0);
  } finally {
    await signedOutPlain.close();
  }

  // Sign out, then back in with the button, no email needed: to the return path.
  await signOut(page, server);
  await setAutofill(page, false);
  await page.evaluate(() => localStorage.removeItem("e2e:mediations"));
  await page.goto(server.url("/login?returnTo=%2Faccount%2Fpasskeys"));
  await expect(page.getByLabel("Email address")).toHaveAttribute(
    "autocomplete",
    "username webauthn",
  );
  await audit(page, "sign-in page with passkeys", { screenshot: "login-passkey" });
  await main(page).getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page).toHaveURL(server.url("/account/passkeys"));
  await expect(page.getByTestId("passkeys")).toContainText("last used");
  await page.goto(server.url("/dashboard"));
  await expectDashboard(page, server, email);
  expect(await mediations(page)).toEqual(["optional"]);

  // Sign out, then back in through the browser's suggestions on the email field.
  await signOut(page, server);
  await setAutofill(page, true);
  await page.evaluate(() => localStorage.removeItem("e2e:mediations"));
  await page.goto(server.url("/login"));
  await page.getByLabel("Email address").focus();
  await expectDashboard(page, server, email);
  expect(await mediations(page)).toEqual(["conditional"]);

  // Remove it; the page says it no longer signs in.
  await page.goto(server.url("/account/passkeys"));
  await main(page).getByRole("button", { name: "Remove My laptop" }).click();
  await expect(page.getByText("Passkey removed. It can no longer sign you in.")).toBeVisible();
  await expect(page.getByTestId("no-passkeys")).toBeVisible();

  // The device still holds it, but the server refuses it, and the device is told so.
  expect(await device.credentials()).toHaveLength(1);
  await signOut(page, server);
  await setAutofill(page, false);
  await page.goto(server.url("/login"));
  await main(page).getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page.getByRole("alert")).toContainText("This passkey doesn't work here any more");
  await expect(page).toHaveURL(server.url("/login"));
  await expect.poll(() => device.credentials().then((c) => c.length)).toBe(0);
  await expectSignedOut(page, server);
});
