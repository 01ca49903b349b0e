/**
 * A time as the same text on server and client: UTC, to the minute. The space before
 * "UTC" does not break, so "UTC" never wraps onto a line of its own.
 */
export function formatTime(iso: string): string {
  return `${iso.slice(0, 16).replace("T", " ")}\u00a0UTC`;
}
