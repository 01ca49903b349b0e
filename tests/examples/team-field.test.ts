// Example: a loader that reads one of your own fields (UserFields in app/auth/users.server.ts),
// tested with a real user record from the kit.
import { afterEach, beforeEach, expect, it } from "vitest";
import * as dashboard from "../../app/routes/dashboard";
import {
  callRoute,
  createTestApp,
  createTestUser,
  signedInRequest,
  type TestApp,
} from "../support/auth";

let app: TestApp;
beforeEach(() => {
  app = createTestApp();
});
afterEach(() => app.close());

it("greets the person by the display name kept in their user record", async () => {
  const ada = await createTestUser({
    email: "ada@example.com",
    fields: { displayName: "Ada Lovelace" },
  });
  const result = await callRoute(
    dashboard.loader,
    await signedInRequest("/dashboard", { user: ada }),
  );
  expect(result.data).toMatchObject({ email: "ada@example.com", displayName: "Ada Lovelace" });
});

it("a change to the record shows on the next request", async () => {
  const ada = await createTestUser({ email: "ada@example.com" });
  const before = await callRoute(
    dashboard.loader,
    await signedInRequest("/dashboard", { user: ada }),
  );
  expect(before.data).toMatchObject({ displayName: null });
  await app.userStore.update(ada.id, { fields: { displayName: "Countess" } });
  const after = await callRoute(
    dashboard.loader,
    await signedInRequest("/dashboard", { user: ada }),
  );
  expect(after.data).toMatchObject({ displayName: "Countess" });
});
