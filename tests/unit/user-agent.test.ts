/**
 * app/lib/user-agent.ts: "Firefox on Linux", enough for a person to recognise their own
 * devices on the sessions page. Real user agents of each browser and system, where several
 * name others (Edge and Opera also say Chrome and Safari, Chrome also says Safari).
 */
import { describe, expect, it } from "vitest";
import { describeUserAgent } from "../../app/lib/user-agent";

const AGENTS: Array<[string, string]> = [
  [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
    "Edge on Windows",
  ],
  [
    "Mozilla/5.0 (Linux; Android 10; HD1913) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 EdgA/120.0.0.0",
    "Edge on Android",
  ],
  [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/120.0.0.0 Mobile/15E148 Safari/605.1.15",
    "Edge on iOS",
  ],
  [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19045",
    "Edge on Windows",
  ],
  [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0",
    "Opera on Windows",
  ],
  ["Opera/9.80 (X11; Linux x86_64) Presto/2.12.388 Version/12.16", "Opera on Linux"],
  [
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
    "Samsung Internet on Android",
  ],
  ["Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox on Linux"],
  [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15",
    "Firefox on iOS",
  ],
  [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Chrome on macOS",
  ],
  [
    "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
    "Chrome on iOS",
  ],
  [
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Chrome on ChromeOS",
  ],
  [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Ubuntu Chromium/37.0.2062.94 Safari/537.36",
    "Chrome on Linux",
  ],
  [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
    "Safari on macOS",
  ],
  [
    "Mozilla/5.0 (iPod touch; CPU iPhone OS 15_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.0 Mobile/15E148 Safari/604.1",
    "Safari on iOS",
  ],
  ["Mozilla/5.0 (Macintosh; PPC Mac OS X 10_5_8) Gecko/20100101 Firefox/3.6", "Firefox on macOS"],
];

describe("a device's name from its user agent", () => {
  it.each(AGENTS)("%s reads as %s", (agent, name) => {
    expect(describeUserAgent(agent)).toBe(name);
  });

  it("names curl in any case, without a system", () => {
    expect(describeUserAgent("curl/8.5.0")).toBe("curl");
    expect(describeUserAgent("CURL/7.0")).toBe("curl");
  });

  it("names only the system when the browser is not known", () => {
    expect(describeUserAgent("SomeApp/1.0 (Linux)")).toBe("A browser on Linux");
    expect(describeUserAgent("SomeApp/1.0 (iPad)")).toBe("A browser on iOS");
  });

  it("reads as an unknown browser without a user agent, or one it does not know", () => {
    expect(describeUserAgent(undefined)).toBe("Unknown browser");
    expect(describeUserAgent("")).toBe("Unknown browser");
    expect(describeUserAgent("SomeApp/1.0")).toBe("Unknown browser");
  });

  it("needs the slash after a browser's name: a word alone in a user agent is not that browser", () => {
    expect(describeUserAgent("Firefox-lookalike (Linux)")).toBe("A browser on Linux");
    expect(describeUserAgent("Chrome extension checker (Linux)")).toBe("A browser on Linux");
    expect(describeUserAgent("Safari Books (Linux)")).toBe("A browser on Linux");
    expect(describeUserAgent("SamsungBrowser (Linux)")).toBe("A browser on Linux");
    expect(describeUserAgent("Edge (Linux)")).toBe("A browser on Linux");
    expect(describeUserAgent("curl-like (Linux)")).toBe("A browser on Linux");
  });
});
