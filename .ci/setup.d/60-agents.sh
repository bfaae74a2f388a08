#!/usr/bin/env bash
# Real agent CLIs for the end-to-end tests, pinned, each in its own prefix under
# .cache/agents/<name>@<version>/ (gitignored). Idempotent: a prefix whose binary
# already answers --version is left alone. Native binaries ship as optional
# platform packages (claude-code, codex, bun), so every one is run once here:
# an install that skipped optional deps or install scripts fails loudly.
set -euo pipefail
cd "$(dirname "$0")/../.."
AGENTS=.cache/agents
mkdir -p "$AGENTS"

# name@version  binary (relative to the prefix)
PINS=(
  "@anthropic-ai/claude-code@2.1.332 node_modules/.bin/claude"
  "@anthropic-ai/claude-code@2.1.329 node_modules/.bin/claude"
  "@openai/codex@0.171.0 node_modules/.bin/codex"
  "@google/gemini-cli@0.61.0 node_modules/.bin/gemini"
  "bun@1.4.5 node_modules/.bin/bun"
  "bun@1.4.2 node_modules/.bin/bun"
)

for pin in "${PINS[@]}"; do
  spec=${pin% *}
  bin=${pin#* }
  dir="$AGENTS/${spec//\//+}"
  if [ -x "$dir/$bin" ] && "$dir/$bin" --version >/dev/null 2>&1; then
    continue
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  echo '{"private":true}' > "$dir/package.json"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error --include=optional "$spec" >/dev/null
  # bun's postinstall replaces a placeholder with the platform binary; run it if npm skipped it.
  if [[ $spec == bun@* ]] && ! "$dir/$bin" --version >/dev/null 2>&1; then
    (cd "$dir/node_modules/bun" && node install.js)
  fi
  echo "agent $spec: $("$dir/$bin" --version 2>&1 | head -1)"
done

# A Python agent framework in the project venv (requirements-test.txt).
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -c 'import agents' 2>/dev/null || .venv/bin/pip install -q --disable-pip-version-check -r requirements-test.txt
.venv/bin/python -c 'import agents, importlib.metadata as m; print("openai-agents", m.version("openai-agents"))'
