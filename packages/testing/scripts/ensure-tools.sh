#!/usr/bin/env bash
# Installs the command-line tools the deploy-layer tests need (helm, promtool, Node 24, pg_dump…)
# under node_modules/.tools, by running every package's own scripts/ensure-*.sh.
set -euo pipefail
cd "$(dirname "$0")/../../.."
shopt -s nullglob
for script in */scripts/ensure-*.sh */*/scripts/ensure-*.sh; do
  [[ "$script" == packages/testing/scripts/* ]] && continue
  bash "$script"
done
