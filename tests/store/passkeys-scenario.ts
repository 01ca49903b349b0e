/**
 * Passkeys on one Store backend: what the account page and a sign-in do, through the real
 * service and a software authenticator, so SQLite, Redis and memory are each shown to keep
 * credentials, counters, names and removals (the contract suite covers the primitives).
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  createPasskeys,
  passkeyFailureReason,
  type PasskeyOwner,
} from "../../app/auth/passkeys.server";
import type { Store } from "../../app/store/types";
import { SoftwareAuthenticator } from "../support/authenticator";

const ORIGIN = "https://app.example.com";
const ADA: PasskeyOwner = { id: "usr_ada", email: "ada@example.com" };
const BOB: PasskeyOwner = { id: "usr_bob", email: "bob@example.com" };

export function runPasskeyScenario(name: string, open: () => Promise<Store>): void {
  describe(`passkeys on the ${name} store`, () => {
    const opened: Store[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });

    async function setUp() {
      const store = await open();
      opened.push(store);
      const passkeys = createPasskeys({
        store,
        appOrigin: ORIGIN,
        rpName: "Test",
        userHandleKey: Buffer.alloc(32, 3),
      });
      const add = async (user: PasskeyOwner, device: SoftwareAuthenticator, label: string) => {
        const options = await passkeys.registrationOptions(`sid-${user.id}`, user);
        return passkeys.register(`sid-${user.id}`, user, device.register(options), {
          name: label,
          defaultName: "x",
        });
      };
      const signIn = async (device: SoftwareAuthenticator) => {
        const options = await passkeys.authenticationOptions("ceremony-0123456789abcdef");
        return passkeys.authenticate("ceremony-0123456789abcdef", device.assert(options));
      };
      return { store, passkeys, add, signIn };
    }

    it("keeps, counts, renames and removes passkeys per person", async () => {
      const { passkeys, add, signIn } = await setUp();
      const laptop = new SoftwareAuthenticator({ origin: ORIGIN });
      const phone = new SoftwareAuthenticator({ origin: ORIGIN });
      const bobs = new SoftwareAuthenticator({ origin: ORIGIN });
      const first = await add(ADA, laptop, "Laptop");
      await add(ADA, phone, "Phone");
      await add(BOB, bobs, "Bob's key");

      expect(await signIn(laptop)).toBe(ADA.id);
      expect(await signIn(laptop)).toBe(ADA.id);
      expect(await signIn(bobs)).toBe(BOB.id);
      // The counter the store kept is the one checked next time: an old one is refused.
      const options = await passkeys.authenticationOptions("ceremony-0123456789abcdef");
      const stale = laptop.assert(options, { counter: 1 });
      await expect(passkeys.authenticate("ceremony-0123456789abcdef", stale)).rejects.toSatisfy(
        (error) => passkeyFailureReason(error) === "counter_regression",
      );

      expect((await passkeys.list(ADA.id)).map((p) => p.name).sort()).toEqual(["Laptop", "Phone"]);
      expect(await passkeys.rename(ADA.id, first.handle, "Old laptop")).toBe(true);
      expect(await passkeys.remove(BOB.id, first.handle)).toBe(false);
      expect(await passkeys.remove(ADA.id, first.handle)).toBe(true);
      expect((await passkeys.list(ADA.id)).map((p) => p.name)).toEqual(["Phone"]);
      await expect(signIn(laptop)).rejects.toSatisfy(
        (error) => passkeyFailureReason(error) === "unknown_credential",
      );
      await passkeys.removeAll(ADA.id);
      expect(await passkeys.list(ADA.id)).toEqual([]);
      expect(await signIn(bobs)).toBe(BOB.id);
    });

    it("redeems a challenge once, even when the same assertion arrives twice at once", async () => {
      const { passkeys, add } = await setUp();
      const device = new SoftwareAuthenticator({ origin: ORIGIN });
      await add(ADA, device, "Laptop");
      const options = await passkeys.authenticationOptions("ceremony-0123456789abcdef");
      const assertion = device.assert(options);
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, () =>
          passkeys.authenticate("ceremony-0123456789abcdef", assertion),
        ),
      );
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    });
  });
}
