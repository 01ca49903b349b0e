/** Milliseconds since the epoch. Injected everywhere expiry matters, so tests never sleep. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();
