#!/usr/bin/env bash
# Python SDKs (openai, anthropic, mcp) in a project venv used by the end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements-test.txt
.venv/bin/python -c 'import openai, anthropic, mcp, ocsf.v1_7_0.events, sigma.backends.opensearch, sigma.backends.splunk; print("python sdks:", openai.__version__, anthropic.__version__)'
