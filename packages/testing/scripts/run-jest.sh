#!/usr/bin/env bash
# Runs Jest (native ESM) over every package, then prints one closing line that any CI log
# reader understands: "N passed, N failed, N skipped". Keeps Jest's exit status.
set -uo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
node --experimental-vm-modules --no-warnings=ExperimentalWarning \
  "$root/node_modules/jest/bin/jest.js" --json --outputFile "$results" "$@"
status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`\nTests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' "$results" 2>/dev/null || true
exit $status
