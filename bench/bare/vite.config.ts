import { reactRouter } from "@react-router/dev/vite";
import { defineConfig } from "vite";

// Built by bench/run.ts with this folder as the working directory, so the output lands in
// bench/bare/build and never touches the starter's build or typegen.
export default defineConfig({
  plugins: [reactRouter()],
  build: { rolldownOptions: { checks: { bundlerTimings: false } } },
});
