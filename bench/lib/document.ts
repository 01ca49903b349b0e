/**
 * What a person sees of a document, so that two apps' pages can be compared: the markup
 * without scripts, module preloads and nonces, with hashed asset names made equal, and the
 * class names renamed in order of first use (vanilla-extract hashes a style's file path
 * relative to the app's root, so the same style file gets other names in the bare app).
 * What is taken out is the framework's hydration data (the starter's carries its nonce) and
 * the build's file names, which differ between two builds of the same page, and React's empty
 * `<!-- -->` comments, which only separate text put together from expressions.
 */
export function visibleMarkup(html: string): string {
  const names = new Map<string, string>();
  return html
    .replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, "")
    .replace(/<link rel="modulepreload"[^>]*>/gi, "")
    .replace(/\snonce="[^"]*"/gi, "")
    .replace(/<!-- -->/g, "")
    .replace(/\/assets\/[\w.-]+?-[\w-]{8}\.(css|js)/g, "/assets/*.$1")
    .replace(/\sclass="([^"]*)"/g, (_, list: string) => {
      const renamed = list
        .split(/\s+/)
        .filter(Boolean)
        .map((name) => {
          if (!names.has(name)) names.set(name, `c${names.size}`);
          return names.get(name);
        });
      return ` class="${renamed.join(" ")}"`;
    });
}

/** Where two documents' visible markup first differs, or null when it is the same. */
export function firstDifference(a: string, b: string): string | null {
  const left = visibleMarkup(a);
  const right = visibleMarkup(b);
  if (left === right) return null;
  let at = 0;
  while (at < left.length && left[at] === right[at]) at++;
  const around = (text: string) => JSON.stringify(text.slice(Math.max(0, at - 40), at + 60));
  return `at character ${at}: ${around(left)} vs ${around(right)}`;
}
