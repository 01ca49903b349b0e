const DRAINING = Symbol.for("passwordless-starter.draining");

/**
 * True once the production server (server.js) has started to shut down: it still finishes
 * the requests it has, but a load balancer's probe must hear 503 so no new traffic comes.
 */
export function isDraining(): boolean {
  return (globalThis as { [DRAINING]?: boolean })[DRAINING] === true;
}
