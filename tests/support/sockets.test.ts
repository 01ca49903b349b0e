/** The test servers' socket tracking (tests/support/sockets.ts). */
import { connect, createServer, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { trackSockets } from "./sockets";

const servers: Array<ReturnType<typeof createServer>> = [];
const clients: Socket[] = [];
afterEach(async () => {
  // The clients first: a server closes only once its connections have ended.
  for (const socket of clients.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) {
    if (server.listening) await new Promise((resolve) => server.close(resolve));
  }
});

async function listening() {
  // Accepts and never answers, as a fault that holds a connection open does.
  const server = createServer(() => {});
  servers.push(server);
  const sockets = trackSockets(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const client = async () => {
    const socket = connect(port, "127.0.0.1");
    clients.push(socket);
    await new Promise((resolve) => socket.once("connect", resolve));
    return socket;
  };
  return { server, sockets, client };
}

/** Resolves when `socket` closes; rejects if it is still open after a second. */
const closed = (socket: Socket) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("still open after 1 s")), 1_000);
    socket.once("close", () => resolve(clearTimeout(timer)));
  });

describe("trackSockets", () => {
  it("counts the open connections, ends every one of them, and lets the server close", async () => {
    const { server, sockets, client } = await listening();
    const first = await client();
    const second = await client();
    await expect.poll(() => sockets.open).toBe(2);
    const ended = Promise.all([closed(first), closed(second)]);
    sockets.destroyAll();
    await ended;
    await expect.poll(() => sockets.open).toBe(0);
    // With nothing left open, close resolves at once rather than waiting on the clients.
    await new Promise((resolve) => server.close(resolve));
    expect(server.listening).toBe(false);
  });

  it("forgets a connection its client closed", async () => {
    const { sockets, client } = await listening();
    const socket = await client();
    await expect.poll(() => sockets.open).toBe(1);
    socket.destroy();
    await expect.poll(() => sockets.open).toBe(0);
  });
});
