import { describe, expect, it } from "vitest";
import { sessionFromAccessToken, workosIdentity } from "../../../adapters/workos/identity";

/** An unsigned JWT with these claims (only the payload is read). */
const jwt = (claims: unknown) =>
  `eyJhbGciOiJub25lIn0.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.sig`;

describe("workosIdentity", () => {
  it("keeps the names WorkOS knows, under the workos provider", () => {
    expect(
      workosIdentity(
        { id: "user_1", email: "ada@example.com", firstName: "Ada", lastName: "Lovelace" },
        "workos-magic-auth",
        { id: "session_1", userId: "user_1" },
      ),
    ).toEqual({
      id: "user_1",
      email: "ada@example.com",
      firstName: "Ada",
      lastName: "Lovelace",
      adapter: "workos-magic-auth",
      provider: "workos",
      providerSession: { id: "session_1", userId: "user_1" },
    });
  });

  it("leaves out empty names and a missing session", () => {
    const identity = workosIdentity(
      { id: "prof_1", email: "ada@example.com", firstName: "", lastName: null },
      "workos-magic-link",
    );
    expect(identity).toEqual({
      id: "prof_1",
      email: "ada@example.com",
      adapter: "workos-magic-link",
      provider: "workos",
    });
    expect(Object.keys(identity)).not.toContain("firstName");
  });
});

describe("sessionFromAccessToken", () => {
  it("reads the sid claim, with the user it belongs to", () => {
    expect(sessionFromAccessToken(jwt({ sid: "session_01", sub: "user_1" }), "user_1")).toEqual({
      id: "session_01",
      userId: "user_1",
    });
  });

  it("keeps a sid of 128 characters and drops a longer one", () => {
    const longest = "s".repeat(128);
    expect(sessionFromAccessToken(jwt({ sid: longest }), "u")?.id).toBe(longest);
    expect(sessionFromAccessToken(jwt({ sid: `${longest}s` }), "u")).toBeUndefined();
  });

  it("answers undefined for no token, a token without a payload, or no usable sid", () => {
    expect(sessionFromAccessToken(undefined, "u")).toBeUndefined();
    expect(sessionFromAccessToken("", "u")).toBeUndefined();
    expect(sessionFromAccessToken("header-only", "u")).toBeUndefined();
    expect(sessionFromAccessToken("header..sig", "u")).toBeUndefined();
    for (const sid of [undefined, "", 42, null, ["session_1"]]) {
      expect(sessionFromAccessToken(jwt({ sid }), "u"), JSON.stringify(sid)).toBeUndefined();
    }
  });

  it("answers undefined for a payload that is not JSON, or JSON null", () => {
    expect(sessionFromAccessToken("h.not-json.s", "u")).toBeUndefined();
    expect(sessionFromAccessToken(jwt(null), "u")).toBeUndefined();
  });
});
