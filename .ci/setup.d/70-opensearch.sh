#!/usr/bin/env bash
# OpenSearch for the SIEM tests (issue 14): resolve OpenSearch 2.19.6 and its HTTP, analysis and
# painless modules from Maven Central into .cache/opensearch (.ci/opensearch/pom.xml), compile the
# small launcher .ci/opensearch/AgentrailOpenSearch.java, then start one single-node cluster on
# 127.0.0.1 (free ports; state in .cache/opensearch/state.json {"url": …}, which the tests read).
# Idempotent: an answering node is left as it is. `npm run opensearch:stop` stops it.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v java >/dev/null || { echo "70-opensearch: java missing (openjdk-17-jre-headless in .ci/apt-packages.txt)"; exit 1; }
command -v javac >/dev/null || { echo "70-opensearch: javac missing (openjdk-17-jdk-headless in .ci/apt-packages.txt)"; exit 1; }
command -v mvn >/dev/null || { echo "70-opensearch: mvn missing (maven in .ci/apt-packages.txt)"; exit 1; }
t0=$(date +%s)
node scripts/opensearch.mjs fetch
t1=$(date +%s)
echo "70-opensearch: jars and launcher ready in $((t1 - t0)) s"
node scripts/opensearch.mjs start
echo "70-opensearch: node ready in $(( $(date +%s) - t1 )) s"
