#!/usr/bin/env bash
# Builds the production payload of one workspace package into <out>: its own published files
# (package.json `files`) plus a node_modules holding only its production dependencies, resolved
# from the workspace lockfile, with workspace packages copied in (their `files`, i.e. dist/).
# This is what an image holds under /app; the Dockerfiles and the image checks both run this
# script, so the payload they test is the payload that ships.
#
# Usage: payload.sh <package name> <out dir>     e.g. payload.sh @herald/user-handler /out
# Needs: `pnpm install` done and the package and its workspace dependencies built (dist/).
set -euo pipefail
if [[ $# -ne 2 ]]; then
  echo "usage: $0 <package name> <out dir>   (e.g. $0 @herald/user-handler /tmp/payload)" >&2
  exit 64
fi
package="$1"
out="$2"
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"

if [[ -e "$out" ]] && [[ -n "$(ls -A "$out")" ]]; then
  echo "payload: $out is not empty; give a new or empty folder" >&2
  exit 1
fi

# pnpm 10 deploys from the lockfile only when workspace packages are injected (copied, not
# linked). Setting it for this command alone leaves the workspace and its lockfile as they are;
# --offline keeps the payload to exactly what `pnpm install --frozen-lockfile` put in the store.
pnpm --filter "$package" deploy --prod --offline --config.inject-workspace-packages=true "$out" \
  >"$out.log" 2>&1 || {
  cat "$out.log" >&2
  rm -f "$out.log"
  echo "payload: pnpm deploy of $package failed (is the workspace installed?)" >&2
  exit 1
}
rm -f "$out.log"

# A package without a `files` list is copied whole; keep its sources, tests and tool
# configuration out of the image all the same.
if ! node -e 'process.exit(Array.isArray(require(process.argv[1]).files) ? 0 : 1)' "$out/package.json"; then
  (cd "$out" && rm -rf src test bench dist-bench .turbo tsconfig*.json ./*.config.js ./*.config.ts Dockerfile*)
fi

# The entry points: the package's `bin` targets when it has some (the backup tool), else
# dist/main.js (the services).
mapfile -t entries < <(node -e '
  const pkg = require(process.argv[1]);
  const bins = typeof pkg.bin === "string" ? [pkg.bin] : Object.values(pkg.bin ?? {});
  for (const bin of bins.length > 0 ? bins : ["dist/main.js"]) console.log(bin);
' "$out/package.json")
for entry in "${entries[@]/#/$out/}" "$out"/node_modules; do
  if [[ ! -e "$entry" ]]; then
    echo "payload: $entry is missing: build $package first (pnpm build)" >&2
    exit 1
  fi
done
