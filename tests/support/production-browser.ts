/**
 * A browser (a cookie jar and one client address) talking to real production servers, for
 * integration tests that run the build: several instances behind one origin, or one data
 * folder across restarts. Each request goes straight to one server's port with the headers
 * a browser (behind a proxy that appends X-Forwarded-For) would send.
 */
import { CookieJar } from "./auth";
import type { ProductionServer } from "./production-app";

export class Browser {
  readonly jar = new CookieJar();

  /** `origin` is APP_ORIGIN, sent as Origin on POSTs (S17); `ip` the proxy's X-Forwarded-For. */
  constructor(
    readonly origin: string,
    readonly ip = "203.0.113.10",
  ) {}

  headers(extra: Record<string, string> = {}): Headers {
    const headers = new Headers({
      "X-Forwarded-For": this.ip,
      "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
      ...extra,
    });
    const cookie = this.jar.header();
    if (cookie) headers.set("Cookie", cookie);
    return headers;
  }

  async get(server: ProductionServer, path: string): Promise<Response> {
    const response = await fetch(server.url + path, {
      headers: this.headers(),
      redirect: "manual",
    });
    this.jar.store(response);
    return response;
  }

  async post(
    server: ProductionServer,
    path: string,
    fields: Record<string, string>,
  ): Promise<Response> {
    const response = await fetch(server.url + path, {
      method: "POST",
      headers: this.headers({
        Origin: this.origin,
        "Content-Type": "application/x-www-form-urlencoded",
      }),
      body: new URLSearchParams(fields).toString(),
      redirect: "manual",
    });
    this.jar.store(response);
    return response;
  }

  /** Another tab of this browser, from now on with its own copy of the cookies. */
  copy(): Browser {
    const other = new Browser(this.origin, this.ip);
    for (const line of this.jar.header().split("; ").filter(Boolean)) {
      const eq = line.indexOf("=");
      other.jar.set(line.slice(0, eq), line.slice(eq + 1));
    }
    return other;
  }
}
