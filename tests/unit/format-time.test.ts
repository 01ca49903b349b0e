/** app/lib/format-time.ts: a time as the same text on server and client, UTC to the minute. */
import { expect, it } from "vitest";
import { formatTime } from "../../app/lib/format-time";

it("reads as the UTC date and minute, with a space that does not break before UTC", () => {
  expect(formatTime("2026-03-04T05:06:07.890Z")).toBe("2026-03-04 05:06\u00a0UTC");
});
