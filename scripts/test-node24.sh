#!/usr/bin/env bash
# The addon (Node-API) and the core suites under Node 24 (the container's
# runtime), after `npm test` has built dist/ under Node 20.
set -euo pipefail
cd "$(dirname "$0")/.."
node24=.cache/node24/bin/node
[ -x "$node24" ] || bash .ci/setup.d/50-node24.sh
"$node24" scripts/run-tests.mjs test/native/ kernel-native kernel-unprivileged tls-capture run-launch agent-e2e test/seal/ test/verify/ test/protocol/ test/event/ test/policy/
