/**
 * Reading a form body safely (S26): a bounded size (413 above it), only form content
 * types (415 otherwise), and strict UTF-8 (400 on invalid bytes). Every failure is a
 * Response with a plain message that routes may throw; nothing here ever becomes a 500.
 */
export const MAX_FORM_BYTES = 16 * 1024;

export async function readForm(
  request: Request,
  maxBytes = MAX_FORM_BYTES,
): Promise<URLSearchParams> {
  const type = (request.headers.get("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded" && type !== "multipart/form-data") {
    throw new Response(
      "Send the form as application/x-www-form-urlencoded or multipart/form-data.",
      { status: 415 },
    );
  }
  const declared = Number(request.headers.get("Content-Length") ?? "0");
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const bytes = await readBounded(request, maxBytes);
  if (type === "multipart/form-data") {
    let form: FormData;
    try {
      form = await new Response(bytes, {
        headers: { "Content-Type": request.headers.get("Content-Type") ?? "" },
      }).formData();
    } catch {
      throw new Response("The form could not be read.", { status: 400 });
    }
    const params = new URLSearchParams();
    for (const [key, value] of form) if (typeof value === "string") params.append(key, value);
    return params;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Response("The form is not valid UTF-8.", { status: 400 });
  }
  return new URLSearchParams(text);
}

async function readBounded(request: Request, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof Response) throw error;
    throw new Response("The form could not be read.", { status: 400 });
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function tooLarge(maxBytes: number): Response {
  return new Response(`The form is larger than ${maxBytes} bytes.`, { status: 413 });
}

/** A single string field, or "" when absent, repeated or not text. */
export function field(form: URLSearchParams, name: string): string {
  const values = form.getAll(name);
  return values.length === 1 ? (values[0] ?? "") : "";
}

/**
 * The same request with `form` as its body (urlencoded), for handing on after the body was
 * read once: a clone would tee the stream, and a bounded read that stops early on one
 * branch of a tee waits forever for the other.
 */
export function requestWithForm(request: Request, form: URLSearchParams): Request {
  const headers = new Headers(request.headers);
  headers.set("Content-Type", "application/x-www-form-urlencoded");
  headers.delete("Content-Length");
  return new Request(request.url, {
    method: request.method,
    headers,
    body: form.toString(),
    signal: request.signal,
  });
}
