#!/usr/bin/env bash
# One-step setup on Debian 12 as root: system packages, tracefs, npm packages,
# build (BPF objects, native addon, TypeScript). With --test, also the test
# dependencies of .ci/setup.d/ (Python SDKs, Kafka broker, helm).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

echo "== apt packages"
apt-get update -qq
grep -v '^#' .ci/apt-packages.txt | xargs apt-get install -y -qq >/dev/null

echo "== tracefs"
if [ -z "$(ls -A /sys/kernel/tracing 2>/dev/null)" ]; then mount -t tracefs tracefs /sys/kernel/tracing; fi

echo "== npm ci"
npm ci --no-audit --no-fund

if [ "${1:-}" = "--test" ]; then
  for s in .ci/setup.d/*.sh; do
    [ -e "$s" ] || continue
    echo "== setup $(basename "$s")"
    bash "$s"
  done
fi

echo "== build"
npm run build
