// Markdown check run by `npm run lint`: every code fence in every tracked .md file closes.
// An unclosed fence turns the rest of a page into code (a closing fence may carry nothing
// after its backticks, so "``` The emulator…" does not close one), which no other check
// here notices.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * The unclosed fences of one Markdown text: where each opens and, when the text goes on as
 * if it had closed, the line that shows it (CommonMark's rules: a fence is three
 * or more backticks or tildes indented at most three spaces; it is closed by a line of the
 * same character, at least as long, with nothing but spaces after it).
 */
export function unclosedFences(text) {
  const problems = [];
  let open;
  text.split("\n").forEach((line, index) => {
    const match = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (!match) return;
    const [, fence, rest] = match;
    if (!open) {
      // A backtick fence's info string may not contain a backtick.
      if (fence[0] === "`" && rest.includes("`")) return;
      open = { char: fence[0], length: fence.length, line: index + 1 };
    } else if (fence[0] === open.char && fence.length >= open.length) {
      // "```sh" or "``` text" inside an open block is meant as a fence but closes nothing:
      // the block that is open has lost its end.
      if (rest.trim() !== "") problems.push({ line: open.line, seen: index + 1 });
      open = undefined;
    }
  });
  if (open) problems.push({ line: open.line });
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = execFileSync("git", ["ls-files", "*.md", "**/*.md"], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean);
  let failed = false;
  for (const file of [...new Set(files)]) {
    for (const { line, seen } of unclosedFences(readFileSync(file, "utf8"))) {
      failed = true;
      const where = seen ? ` (line ${seen} opens or closes a fence with text after it)` : "";
      console.error(`${file}:${line}: this code fence never closes${where}`);
    }
  }
  if (failed) process.exit(1);
  console.log(`Markdown: ${files.length} files, every code fence closes.`);
}
