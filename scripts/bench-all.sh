#!/usr/bin/env bash
# Runs every benchmark one after the other (as root, after `npm run build`,
# with the Kafka broker of `npm run kafka:start` for bench/kafka and bench/siem, and the
# OpenSearch node of `npm run opensearch:start` for bench/siem), and keeps
# each output in bench-results/<name>.txt. The README's table comes from here.
set -uo pipefail
cd "$(dirname "$0")/.."
out=bench-results
mkdir -p "$out"
export AGENTRAIL_LOG_LEVEL=${AGENTRAIL_LOG_LEVEL:-warn}
run() {
  local name=$1; shift
  echo "== $name: $*"
  "$@" 2>&1 | tee "$out/$name.txt" | grep -v '^{"level"' | tail -n 40
}
run native-throughput node dist/bench/native-throughput.js 5
run bpftrace-vs-native node dist/bench/bpftrace-vs-native.js 3 5000
run overhead node dist/bench/overhead.js --rounds 11
run overhead-hog node dist/bench/overhead.js --rounds 7 --hog 2
run agent-session node dist/bench/agent-session.js --rounds 5 --sessions 2 --hog 2
run footprint node dist/bench/footprint.js
run raw-decode node dist/bench/raw-decode.js 2
run decode node dist/bench/decode.js --mb 64
run pipeline node dist/bench/pipeline.js --seconds 3
run seal node dist/bench/seal.js 50000
run policy node dist/bench/policy.js 20000
run kafka node dist/bench/kafka.js 20000 2000 10
run siem node dist/bench/siem.js 2 20000 50 10
run k8s-identity node dist/bench/k8s-identity.js
run tls-attach-race node dist/bench/tls-attach-race.js --runs 20
run prompt-class node dist/bench/prompt-class.js
run claude-code node dist/bench/claude-code.js --cold 3 --rounds 3 --sessions 1 --hog 2
# Go crypto/tls discovery on the test client built with -s -w (.gopclntab + capstone, then the build-id cache).
gobin="$(mktemp -d)/go-llm-client"
(cd test/fixtures/go-llm-client && GOTOOLCHAIN=local GOFLAGS=-mod=mod go build -ldflags="-s -w" -o "$gobin" .) &&
  run tls-discovery-go node dist/bench/tls-discovery.js --go "$gobin" 11
rm -rf "$(dirname "$gobin")"
