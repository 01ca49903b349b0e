import type { EmailMessage, Mailer } from "../../app/mail/types";
import { MemoryStore } from "../../app/store/memory.server";
import type { Store } from "../../app/store/types";
import { localHarness } from "./harnesses/local";
import { runAdapterConformance } from "./suite";

runAdapterConformance(
  localHarness({
    name: "local",
    // Its only backends are the store and the mailer; their faults are below.
    backend({ clock, outbox }) {
      let broken: unknown;
      const mailer: Mailer = {
        async send(message: EmailMessage) {
          if (broken !== undefined) throw broken;
          await outbox.send(message);
        },
      };
      const memory = new MemoryStore({ clock, sweepIntervalMs: 0 });
      const store = faultyStore(memory);
      return {
        store,
        mailer,
        breakProvider() {
          broken = new Error("SMTP connection refused");
        },
        faults: {
          "the mailer throws a string": () => void (broken = "421 try later"),
          "every store call rejects": () => store.fail("reject"),
          "the store hands back records that are not JSON": () => store.fail("garbage"),
        },
        teardown: () => memory.close(),
      };
    },
  }),
);

/**
 * The store, with a switch that makes it fail: every call rejects (a disk or network
 * error), or reads return text that is not a record (a corrupt or foreign value).
 */
function faultyStore(store: Store): Store & { fail(mode: "reject" | "garbage"): void } {
  let mode: "reject" | "garbage" | undefined;
  const faulty = new Proxy(store, {
    get(target, property, receiver) {
      if (property === "fail") return (next: typeof mode) => void (mode = next);
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        if (mode === "reject") throw new Error("EIO: i/o error");
        const result = await value.apply(target, args);
        if (mode === "garbage" && (property === "get" || property === "take")) return "{not json";
        return result;
      };
    },
  });
  return faulty as Store & { fail(mode: "reject" | "garbage"): void };
}
