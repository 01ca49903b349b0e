// Preloaded into the memory benchmark's server only (node --expose-gc --import …). On
// SIGUSR2 it runs a full garbage collection, so that the resident size read next reflects
// what the process holds rather than garbage not yet collected, and writes one JSON line
// with the process's memory figures and the in-memory store's entry count to the file
// named by BENCH_MEMORY_PROBE. It changes nothing the app does.
import { appendFileSync } from "node:fs";

const out = process.env.BENCH_MEMORY_PROBE;
if (out && typeof global.gc === "function") {
  process.on("SIGUSR2", () => {
    global.gc();
    global.gc();
    const services = globalThis[Symbol.for("passwordless-starter.services")];
    const memory = process.memoryUsage();
    const storeEntries = typeof services?.store?.size === "number" ? services.store.size : null;
    appendFileSync(out, `${JSON.stringify({ ...memory, storeEntries })}\n`);
  });
}
