#!/usr/bin/env bash
# The tools of `investigate --html` and its tests, run once so a broken install fails here, loudly:
# Debian's chromium (apt-packages.txt; the browser tests drive it through playwright-core) and
# esbuild (npm devDependency, a native binary from an optional platform package; it bundles the
# in-page verifier at build time), which an install that skipped optional deps would lack.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(chromium --headless --no-sandbox --disable-gpu --dump-dom 'data:text/html,<p id=x>agentrail-ok</p>' 2>/dev/null)
case "$out" in *agentrail-ok*) ;; *) echo "chromium does not render headless" >&2; exit 1 ;; esac
echo "chromium: $(chromium --version 2>/dev/null)"
echo "esbuild: $(node_modules/.bin/esbuild --version)"
