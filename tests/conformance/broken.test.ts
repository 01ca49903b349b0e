/**
 * The conformance suite proves itself: the reference adapter passes every check, and each
 * deliberately broken variant fails exactly the checks that name its flaw. A check that
 * stops catching its flaw, or starts failing a sound adapter, fails here.
 */
import { describe, expect, it } from "vitest";
import { FLAWS, referenceHarness, type Flaw } from "./broken/reference";
import { failedChecks, runAdapterConformance } from "./suite";

runAdapterConformance(referenceHarness());

/** The checks each flaw must fail, by a part of their names. */
const CAUGHT_BY: Record<Flaw, RegExp[]> = {
  "no attempt limit": [/with a code proof › wrong codes end in too_many_attempts/],
  "reusable proof": [
    /with a link proof › a proof works once/,
    /with a link proof › concurrent redemptions/,
    /with a code proof › a proof works once/,
    /with a code proof › concurrent redemptions/,
    /^the link and the code of one delivery/,
  ],
  "leaks a raw error": [
    /^a backend failure at start surfaces as unavailable/,
    /^a provider's 429 is rate_limited/,
    /^nothing but an AuthError leaves/,
  ],
  "ignores supersede": [
    /with a link proof › a newer start for the address makes the older proof useless/,
    /with a code proof › a newer start for the address makes the older proof useless/,
  ],
  "codes never expire": [/with a code proof › a proof past its lifetime is refused/],
  "drops Retry-After": [/^a provider's 429 is rate_limited with its Retry-After/],
};

describe("the conformance suite fails each deliberately broken adapter", () => {
  it("the flawless reference fails no check (the same run as above, through failedChecks)", async () => {
    expect((await failedChecks(referenceHarness())).map((f) => f.check)).toEqual([]);
  });

  it.each(FLAWS)("%s", async (flaw) => {
    const failed = (await failedChecks(referenceHarness(flaw))).map((f) => f.check);
    const expected = CAUGHT_BY[flaw];
    for (const pattern of expected) {
      expect(
        failed.some((name) => pattern.test(name)),
        `${pattern} among ${failed.join("; ")}`,
      ).toBe(true);
    }
    for (const name of failed) {
      expect(
        expected.some((pattern) => pattern.test(name)),
        `unexpected failure: ${name}`,
      ).toBe(true);
    }
  });
});
