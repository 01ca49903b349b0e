import { describe, expect, it } from "vitest";
import { checkedBudgets, checkedTtl, messageOf } from "../../app/store/common.server";
import { isStoreUnavailableError, StoreUnavailableError } from "../../app/store/errors";

describe("a store's TTL", () => {
  it("is rounded up to a whole millisecond", () => {
    expect(checkedTtl(1)).toBe(1);
    expect(checkedTtl(0.1)).toBe(1);
    expect(checkedTtl(1_000.2)).toBe(1_001);
  });

  it("is refused, naming it, when not a positive finite number", () => {
    for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => checkedTtl(ttl)).toThrow(
        new RangeError(`TTL must be a positive number of ms, got ${ttl}`),
      );
    }
  });
});

describe("a spend's budgets", () => {
  it("are kept as given, with each TTL rounded up, and 0 points allowed", () => {
    const given = [
      { key: "a", points: 0, ttlMs: 1.5 },
      { key: "b", points: 5, ttlMs: 60_000 },
    ];
    expect(checkedBudgets(given)).toEqual([
      { key: "a", points: 0, ttlMs: 2 },
      { key: "b", points: 5, ttlMs: 60_000 },
    ]);
    expect(given[0]?.ttlMs).toBe(1.5); // a copy: the caller's budgets stay as they were
  });

  it("are refused, naming the points, unless whole and not negative", () => {
    for (const points of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => checkedBudgets([{ points, ttlMs: 1_000 }])).toThrow(
        new RangeError(`points must be a whole number ≥ 0, got ${points}`),
      );
    }
    expect(() => checkedBudgets([{ points: 1, ttlMs: 0 }])).toThrow(/^TTL must be/);
  });
});

describe("messageOf", () => {
  it("gives an Error's message, and anything else thrown as a string", () => {
    expect(messageOf(new TypeError("bad"))).toBe("bad");
    expect(messageOf("boom")).toBe("boom");
    expect(messageOf(42)).toBe("42");
    expect(messageOf(undefined)).toBe("undefined");
  });
});

describe("StoreUnavailableError", () => {
  it("says the store is unavailable unless told more, and keeps its cause", () => {
    const plain = new StoreUnavailableError();
    expect(plain).toBeInstanceOf(Error);
    expect(plain.name).toBe("StoreUnavailableError");
    expect(plain.message).toBe("The store is unavailable");
    expect(plain.cause).toBeUndefined();
    const cause = new Error("ECONNREFUSED");
    const told = new StoreUnavailableError("Redis GET failed", { cause });
    expect(told.message).toBe("Redis GET failed");
    expect(told.cause).toBe(cause);
  });

  it("is recognised by its brand, also from another copy of the module, and nothing else is", () => {
    expect(isStoreUnavailableError(new StoreUnavailableError())).toBe(true);
    // What another copy of errors.ts (another bundle) creates: the same registered symbol.
    const brand = Symbol.for("passwordless-starter.StoreUnavailableError");
    expect(isStoreUnavailableError(Object.assign(new Error("x"), { [brand]: true }))).toBe(true);
    const lookalike = Object.assign(new Error("x"), { name: "StoreUnavailableError" });
    for (const other of [
      lookalike,
      { [brand]: "yes" },
      {},
      null,
      undefined,
      "StoreUnavailableError",
      1,
    ]) {
      expect(isStoreUnavailableError(other)).toBe(false);
    }
  });
});
