// Preloaded into the server `bench/profile.ts` profiles (node --import …). The first SIGUSR2
// starts V8's CPU profiler, the second stops it and writes the profile to the file named by
// BENCH_PROFILE_OUT, so that the profile covers the measured requests only: not the start,
// not the warm-up (a server settles only after some 20,000 requests). It writes
// `${BENCH_PROFILE_OUT}.started` once the profiler runs. It changes nothing the app does.
import { renameSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";

const out = process.env.BENCH_PROFILE_OUT;
if (out) {
  const session = new Session();
  session.connect();
  const post = (method, params = {}) =>
    new Promise((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
    );
  let running = false;
  process.on("SIGUSR2", async () => {
    if (!running) {
      running = true;
      await post("Profiler.enable");
      await post("Profiler.setSamplingInterval", { interval: 250 });
      await post("Profiler.start");
      writeFileSync(`${out}.started`, "");
    } else {
      running = false;
      const { profile } = await post("Profiler.stop");
      // Whole or not at all: the benchmark waits for the file to appear.
      writeFileSync(`${out}.partial`, JSON.stringify(profile));
      renameSync(`${out}.partial`, out);
    }
  });
}
