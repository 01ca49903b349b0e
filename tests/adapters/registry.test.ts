import { describe, expect, it } from "vitest";
import { adapterModule, DEFAULT_ADAPTER, impliedAdapter } from "../../adapters/registry";

describe("the adapter registry", () => {
  it("finds a module by name, and refuses a name it does not list", () => {
    expect(adapterModule("workos").name).toBe("workos");
    expect(() => adapterModule("acme")).toThrow("No adapter module named acme");
  });

  it("implies WorkOS from an API key, and not from a blank one", () => {
    expect(impliedAdapter({ WORKOS_API_KEY: "sk_test_1" })).toEqual({
      name: "workos",
      because: "WORKOS_API_KEY",
    });
    expect(impliedAdapter({ WORKOS_API_KEY: "  " })).toEqual({ name: DEFAULT_ADAPTER });
    expect(impliedAdapter({})).toEqual({ name: "local" });
  });
});
