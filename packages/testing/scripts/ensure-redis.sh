#!/usr/bin/env bash
# Integration tests need a real redis-server binary unless REDIS_URL points at a running
# Redis. Installs Debian's package when it is missing and we may (root with apt-get).
set -euo pipefail
if [[ -n "${REDIS_URL:-}" ]] || command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
  echo "redis-server not found: installing Debian's redis-server package" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  # The package starts a system service; the tests start their own servers.
  (service redis-server stop || true) >/dev/null 2>&1
  exit 0
fi
echo "The tests need Redis: install redis-server (e.g. 'sudo apt-get install redis-server')" >&2
echo "or set REDIS_URL to a Redis you can flush." >&2
exit 1
