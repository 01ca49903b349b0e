import { describe, expect, it } from "vitest";
// @ts-expect-error -- a plain Node script without type declarations
import { unclosedFences } from "../../scripts/check-markdown.mjs";

const check = (text: string) => unclosedFences(text) as Array<{ line: number; seen?: number }>;

describe("the Markdown fence check of npm run lint", () => {
  it("passes balanced fences, longer fences holding shorter ones, and tildes", () => {
    expect(check("a\n```sh\nnpm test\n```\nb\n")).toEqual([]);
    expect(check("````md\n```ts\nx\n```\n````\n")).toEqual([]);
    expect(check("~~~\n```\n~~~\n")).toEqual([]);
  });

  it("finds a fence that never closes", () => {
    expect(check("a\n```ts\nconst x = 1;\n## Tests\n")).toEqual([{ line: 2 }]);
  });

  it("finds a closing fence with text after it, which closes nothing (the README's old bug)", () => {
    const text = "```sh\nnpm start\n``` The emulator implements…\n### Tests\n```sh\nx\n```\n";
    expect(check(text)).toEqual([{ line: 1, seen: 3 }]);
  });
});
