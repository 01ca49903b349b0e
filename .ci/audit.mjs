// S27: fail on a moderate-or-higher advisory in production dependencies. When the
// registry offers no audit endpoint (some mirrors answer 405), say so loudly and go on:
// that is a fact about the registry, not a finding about the dependencies.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

// AUDIT_REPORT=file reads a saved `npm audit --json` report instead (for the tests).
const run = process.env.AUDIT_REPORT
  ? { stdout: readFileSync(process.env.AUDIT_REPORT, "utf8"), stderr: "" }
  : spawnSync("npm", ["audit", "--omit=dev", "--json"], { encoding: "utf8" });
let report;
try {
  report = JSON.parse(run.stdout);
} catch {
  console.error(run.stdout, run.stderr);
  console.error("npm audit gave no JSON report");
  process.exit(1);
}
if (report.statusCode || report.message || report.error) {
  const why = report.message ?? report.error?.summary ?? `status ${report.statusCode}`;
  console.warn(
    `WARNING: npm audit could not run against this registry (${why}); no advisories were checked.`,
  );
  process.exit(0);
}
const counts = report.metadata?.vulnerabilities ?? {};
const serious = (counts.moderate ?? 0) + (counts.high ?? 0) + (counts.critical ?? 0);
console.log(`npm audit (production dependencies): ${JSON.stringify(counts)}`);
if (serious > 0) {
  for (const [name, v] of Object.entries(report.vulnerabilities ?? {})) {
    if (["moderate", "high", "critical"].includes(v.severity))
      console.error(`  ${v.severity}: ${name}`);
  }
  process.exit(1);
}
