// Before all tests: start a fresh first-load record for this run.
import { rmSync } from "node:fs";
import { LOADS_FILE } from "./metrics";

export default function resetArtifacts() {
  rmSync(LOADS_FILE, { force: true });
}
