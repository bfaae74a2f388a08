#!/usr/bin/env bash
# Kafka for the delivery tests (issue 5): resolve the Apache Kafka jars from Maven Central
# into .cache/kafka (measured: 13-18 s with an empty ~/.m2, 57 jars, 46 MiB), then start one
# KRaft broker+controller on 127.0.0.1 (free ports; state in .cache/kafka/state.json, which
# the tests read). The broker is left running for `npm test`; `npm run kafka:stop` stops it.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v java >/dev/null || { echo "30-kafka: java missing (openjdk-17-jre-headless in .ci/apt-packages.txt)"; exit 1; }
command -v mvn >/dev/null || { echo "30-kafka: mvn missing (maven in .ci/apt-packages.txt)"; exit 1; }
t0=$(date +%s)
node scripts/kafka.mjs fetch
t1=$(date +%s)
echo "30-kafka: jars ready in $((t1 - t0)) s"
node scripts/kafka.mjs start
echo "30-kafka: broker ready in $(( $(date +%s) - t1 )) s"
