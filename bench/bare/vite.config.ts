import { reactRouter } from "@react-router/dev/vite";
import { vanillaExtractPlugin } from "@vanilla-extract/vite-plugin";
import { defineConfig } from "vite";
import { clientChunks } from "../../vite.config";

// Built by bench/run.ts with this folder as the working directory, so the output lands in
// bench/bare/build and never touches the starter's build or typegen. The vanilla-extract
// plugin builds the starter's own style files, which the page imports; the client JS is cut
// into the same chunks as the starter's (`clientChunks`), so the two are compared as packed
// alike.
export default defineConfig({
  plugins: [vanillaExtractPlugin(), reactRouter()],
  build: {
    rolldownOptions: { checks: { bundlerTimings: false }, output: { codeSplitting: clientChunks } },
  },
});
