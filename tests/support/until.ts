/**
 * Polls `read` until it gives a value (anything but undefined) and returns it; fails after
 * `ms`, naming `what`. Generous by default: the machine may be busy, and a test waits only as
 * long as the thing it waits for takes.
 */
export async function until<T>(
  what: string,
  read: () => T | undefined | Promise<T | undefined>,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
