/**
 * app/auth/form.server.ts alone: reading a form body safely (S26). Only form content types
 * (415), a bounded size whether declared or streamed (413, the stream cancelled), strict
 * UTF-8 and well-formed multipart (400), text fields only; a field read once, and the same
 * request handed on with the form as its body.
 */
import { describe, expect, it } from "vitest";
import { field, MAX_FORM_BYTES, readForm, requestWithForm } from "../../app/auth/form.server";

const URL_ = "http://app.test/login";
const URLENCODED = "application/x-www-form-urlencoded";

const post = (body: BodyInit | null, headers: Record<string, string> = {}) =>
  new Request(URL_, { method: "POST", body, headers, duplex: "half" } as RequestInit);

/** A body streamed in the given chunks; `cancelled` says whether the reader gave up on it. */
function streamed(chunks: Uint8Array[], options: { fail?: boolean } = {}) {
  const state = { cancelled: false, pulled: 0 };
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const chunk = chunks[state.pulled];
        state.pulled += 1;
        if (chunk) controller.enqueue(chunk);
        else if (options.fail) controller.error(new Error("connection reset"));
        else controller.close();
      },
      cancel() {
        state.cancelled = true;
      },
      // Nothing pulled before someone reads.
    },
    { highWaterMark: 0 },
  );
  return { stream, state };
}

/** The Response `readForm` throws, as status and text. */
async function refusal(request: Request, maxBytes?: number) {
  try {
    await readForm(request, maxBytes);
  } catch (error) {
    if (!(error instanceof Response)) throw error;
    return { status: error.status, text: await error.text() };
  }
  throw new Error("the form was read");
}

const bytes = (n: number, fill = 0x61) => new Uint8Array(n).fill(fill);

describe("the content type", () => {
  it("reads a urlencoded form, whatever the case and parameters of its type", async () => {
    for (const type of [
      URLENCODED,
      "Application/X-WWW-Form-URLEncoded; charset=UTF-8",
      `${URLENCODED} ; charset=UTF-8`,
    ]) {
      const form = await readForm(post("email=ada%40example.com&x=1", { "Content-Type": type }));
      expect([...form]).toEqual([
        ["email", "ada@example.com"],
        ["x", "1"],
      ]);
    }
  });

  it("refuses anything else, or none, with 415 and the types it takes", async () => {
    for (const type of [
      "application/json",
      "text/plain; application/x-www-form-urlencoded",
      null,
    ]) {
      const request = new Request(URL_, { method: "POST", body: bytes(3) });
      if (type === null) request.headers.delete("Content-Type");
      else request.headers.set("Content-Type", type);
      expect(await refusal(request)).toEqual({
        status: 415,
        text: "Send the form as application/x-www-form-urlencoded or multipart/form-data.",
      });
    }
  });

  it("reads a multipart form's text fields and leaves its files out", async () => {
    const body = new FormData();
    body.append("email", "ada@example.com");
    body.append("upload", new Blob(["not text"]), "a.txt");
    body.append("name", "Ada");
    const request = new Request(URL_, { method: "POST", body });
    const form = await readForm(request);
    expect([...form]).toEqual([
      ["email", "ada@example.com"],
      ["name", "Ada"],
    ]);
  });

  it("refuses a multipart body that is not one, with 400", async () => {
    const request = post("garbage", { "Content-Type": "multipart/form-data; boundary=xyz" });
    expect(await refusal(request)).toEqual({ status: 400, text: "The form could not be read." });
    const none = post("garbage", { "Content-Type": "multipart/form-data" });
    expect((await refusal(none)).status).toBe(400);
  });
});

describe("the size", () => {
  it("is 16 KiB at most by default", async () => {
    expect(MAX_FORM_BYTES).toBe(16 * 1024);
    const full = await readForm(post(bytes(MAX_FORM_BYTES), { "Content-Type": URLENCODED }));
    expect(full.keys().next().value).toHaveLength(MAX_FORM_BYTES);
    expect(await refusal(post(bytes(MAX_FORM_BYTES + 1), { "Content-Type": URLENCODED }))).toEqual({
      status: 413,
      text: `The form is larger than ${MAX_FORM_BYTES} bytes.`,
    });
  });

  it("refuses a declared length over the bound before reading anything", async () => {
    const { stream, state } = streamed([bytes(4)]);
    const request = post(stream, { "Content-Type": URLENCODED, "Content-Length": "11" });
    expect(await refusal(request, 10)).toEqual({
      status: 413,
      text: "The form is larger than 10 bytes.",
    });
    expect(state.pulled).toBe(0);
    // Exactly the bound is fine, and what counts is then what arrives.
    const exact = streamed([bytes(4)]);
    const ok = post(exact.stream, { "Content-Type": URLENCODED, "Content-Length": "10" });
    expect([...(await readForm(ok, 10)).keys()]).toEqual(["aaaa"]);
  });

  it("counts what arrives across chunks, and stops reading once past the bound", async () => {
    const { stream, state } = streamed([bytes(4), bytes(4), bytes(4), bytes(4)]);
    const request = post(stream, { "Content-Type": URLENCODED });
    expect(await refusal(request, 10)).toEqual({
      status: 413,
      text: "The form is larger than 10 bytes.",
    });
    expect(state.cancelled).toBe(true);
    expect(state.pulled).toBeLessThan(4);
  });

  it("puts the chunks back together in order, up to exactly the bound", async () => {
    const encoder = new TextEncoder();
    const { stream } = streamed([
      encoder.encode("a=1&"),
      encoder.encode("b=2&"),
      encoder.encode("c="),
    ]);
    const form = await readForm(post(stream, { "Content-Type": URLENCODED }), 10);
    expect([...form]).toEqual([
      ["a", "1"],
      ["b", "2"],
      ["c", ""],
    ]);
  });

  it("reads no body as an empty form", async () => {
    const request = new Request(URL_, { method: "POST", headers: { "Content-Type": URLENCODED } });
    expect([...(await readForm(request))]).toEqual([]);
  });

  it("refuses a body that breaks off with 400", async () => {
    const { stream } = streamed([bytes(2)], { fail: true });
    expect(await refusal(post(stream, { "Content-Type": URLENCODED }))).toEqual({
      status: 400,
      text: "The form could not be read.",
    });
  });
});

describe("the encoding", () => {
  it("refuses bytes that are not UTF-8 with 400", async () => {
    const request = post(new Uint8Array([0x61, 0x3d, 0xff, 0xfe]), { "Content-Type": URLENCODED });
    expect(await refusal(request)).toEqual({ status: 400, text: "The form is not valid UTF-8." });
  });

  it("reads UTF-8 text as it is", async () => {
    const request = post(new TextEncoder().encode("name=Zoë"), { "Content-Type": URLENCODED });
    expect((await readForm(request)).get("name")).toBe("Zoë");
  });
});

describe("a field", () => {
  it("is its one value, or empty when absent or repeated", () => {
    const form = new URLSearchParams("email=ada%40example.com&code=1&code=2&blank=");
    expect(field(form, "email")).toBe("ada@example.com");
    expect(field(form, "code")).toBe("");
    expect(field(form, "missing")).toBe("");
    expect(field(form, "blank")).toBe("");
  });
});

describe("handing the form on", () => {
  it("is the same request with the form as its urlencoded body", async () => {
    const controller = new AbortController();
    const original = new Request("http://app.test/login/code?x=1", {
      method: "POST",
      body: "ignored",
      headers: {
        "Content-Type": "multipart/form-data; boundary=xyz",
        "Content-Length": "7",
        Cookie: "session=abc",
      },
      signal: controller.signal,
    });
    const handed = requestWithForm(original, new URLSearchParams({ email: "ada@example.com" }));
    expect(handed.url).toBe("http://app.test/login/code?x=1");
    expect(handed.method).toBe("POST");
    expect(handed.headers.get("Content-Type")).toBe(URLENCODED);
    expect(handed.headers.get("Content-Length")).toBeNull();
    expect(handed.headers.get("Cookie")).toBe("session=abc");
    expect(await handed.text()).toBe("email=ada%40example.com");
    expect(handed.signal.aborted).toBe(false);
    controller.abort();
    expect(handed.signal.aborted).toBe(true);
  });
});
