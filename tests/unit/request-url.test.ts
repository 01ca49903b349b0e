import { describe, expect, it } from "vitest";
import { pageUrl } from "../../app/lib/request-url";

const at = (path: string) => pageUrl(new Request(`http://localhost:5173${path}`));

describe("pageUrl: the page a raw React Router 8 request is for", () => {
  it("drops the .data suffix of a data request", () => {
    expect(at("/dashboard.data").pathname).toBe("/dashboard");
    expect(at("/account/sessions.data").pathname).toBe("/account/sessions");
  });

  it("keeps trailing slashes of the trailing-slash-aware form", () => {
    expect(at("/_.data").pathname).toBe("/");
    expect(at("/docs/_.data").pathname).toBe("/docs/");
    expect(at("/.data").pathname).toBe("/");
  });

  it("drops React Router's own search parameters and keeps the page's", () => {
    const url = at("/dashboard.data?tab=2&_routes=root%2Croutes%2Fdashboard");
    expect(`${url.pathname}${url.search}`).toBe("/dashboard?tab=2");
    expect(at("/login.data?index").search).toBe("");
    expect(at("/search?index=3").search).toBe("?index=3");
  });

  it("leaves a document request alone", () => {
    const url = at("/dashboard?tab=2");
    expect(`${url.pathname}${url.search}`).toBe("/dashboard?tab=2");
    expect(at("/report.database").pathname).toBe("/report.database");
  });
});
