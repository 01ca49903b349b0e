import type { Server, Socket } from "node:net";

/**
 * Every socket `server` accepts, for as long as it is open, so that a test server's close
 * can end them all at once: idle keep-alives, connections a fault holds open, and TLS
 * handshakes still under way (`closeAllConnections` of an HTTP server sees only sockets
 * that have reached HTTP).
 */
export function trackSockets(server: Server): { destroyAll(): void; readonly open: number } {
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  return {
    destroyAll() {
      for (const socket of sockets) socket.destroy();
    },
    get open() {
      return sockets.size;
    },
  };
}
