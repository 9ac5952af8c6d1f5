#!/usr/bin/env bash
# The rule and dashboard tests run promtool and a real Prometheus. Both come from Debian's
# `prometheus` package, unpacked (not installed: no system service, no root needed once it is
# there) into node_modules/.tools/prometheus. Prints nothing when it is already there.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
dest="$root/node_modules/.tools/prometheus"
if [[ -x "$dest/usr/bin/promtool" && -x "$dest/usr/bin/prometheus" ]]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
  echo "promtool is missing and this machine has no apt-get/dpkg-deb: install Prometheus 2.x" >&2
  echo "and copy its promtool and prometheus binaries to $dest/usr/bin/" >&2
  exit 1
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get download prometheus >/dev/null 2>&1; then
  # A fresh machine has no package lists yet; refreshing them needs root.
  if [[ "$(id -u)" != "0" ]]; then
    echo "apt-get download prometheus failed: run 'sudo apt-get update' and try again" >&2
    exit 1
  fi
  apt-get update -qq >/dev/null
  apt-get download prometheus >/dev/null
fi
rm -rf "$dest"
mkdir -p "$dest"
dpkg-deb -x prometheus_*.deb "$dest"
echo "promtool installed: $("$dest/usr/bin/promtool" --version 2>&1 | head -n 1)" >&2
