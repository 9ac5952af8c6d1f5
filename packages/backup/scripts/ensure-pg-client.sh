#!/usr/bin/env bash
# The backup tests run pg_dump and pg_restore, which the embedded Postgres does not ship.
# pg_dump refuses a server of a newer major than its own, and Debian's repository has an
# older major than the embedded server (bookworm: 15, trixie: 17), so the tests then
# start a throwaway server of the client's own major: they need Debian's
# postgresql-client-<major> and postgresql-<major> (initdb, postgres) of one major, found
# under /usr/lib/postgresql/<major>/bin. Installs both when missing and we may (root with
# apt-get), taking the newest major the configured repositories offer. Silent when present.
set -euo pipefail

has_tools() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    if [[ -x "$dir/pg_dump" && -x "$dir/pg_restore" && -x "$dir/initdb" && -x "$dir/postgres" ]]; then
      return 0
    fi
  done
  # Other layouts (Homebrew, a source build): one bin folder holding all four.
  if command -v pg_config >/dev/null 2>&1; then
    dir="$(pg_config --bindir)"
    [[ -x "$dir/pg_dump" && -x "$dir/pg_restore" && -x "$dir/initdb" && -x "$dir/postgres" ]] && return 0
  fi
  return 1
}

has_tools && exit 0

if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  major=""
  for candidate in 19 18 17 16 15 14 13; do
    if apt-cache policy "postgresql-$candidate" 2>/dev/null | grep -Eq 'Candidate: [0-9]'; then
      major="$candidate"
      break
    fi
  done
  if [[ -z "$major" ]]; then
    echo "ensure-pg-client: no postgresql-<major> package in the apt repositories" >&2
    exit 1
  fi
  echo "pg_dump not found: installing Debian's postgresql-client-$major and postgresql-$major" >&2
  apt-get install -y -qq --no-install-recommends "postgresql-client-$major" "postgresql-$major" >/dev/null
  # The package may start its own cluster as a service; the tests start their own server.
  (service postgresql stop || true) >/dev/null 2>&1
  has_tools && exit 0
  echo "ensure-pg-client: installed postgresql-$major but found no pg_dump under /usr/lib/postgresql" >&2
  exit 1
fi

# Not root: the backup tests fail with this advice, the rest of the suite runs.
echo "ensure-pg-client: the backup tests need PostgreSQL's client and server programs of one major" >&2
echo "  (pg_dump, pg_restore, initdb, postgres), e.g. 'sudo apt-get install postgresql-client-15 postgresql-15'." >&2
exit 0
