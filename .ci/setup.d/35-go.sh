#!/usr/bin/env bash
# A Go toolchain on PATH for the tests that build Go clients
# (test/fixtures/egress-client, test/fixtures/go-llm-client: standard library
# only) and are traced by the Go crypto/tls hooks. Debian 12's golang-go is
# 1.19; the fixtures want 1.22+. A Go toolchain is itself a module on the Go
# module proxy (golang.org/toolchain), so that is where it comes from; it is
# unpacked under /usr/local/go-toolchain and linked into /usr/local/bin.
# GO_FETCH=1 fetches even when a suitable go is installed (to test this path).
set -euo pipefail
GO_TOOLCHAIN=${GO_TOOLCHAIN:-go1.26.8}
BIN_DIR=${GO_BIN_DIR:-/usr/local/bin}
export PATH="/usr/local/go/bin:$BIN_DIR:$PATH"
if [ "${GO_FETCH:-0}" != 1 ] && command -v go >/dev/null 2>&1 && go version | grep -Eq 'go1\.(2[2-9]|[3-9][0-9])'; then
  echo "go present: $(go version)"
  # Tests run with the default PATH: make sure this go is reachable there.
  [ -x "$BIN_DIR/go" ] || ln -sf "$(command -v go)" "$BIN_DIR/go"
  exit 0
fi
dir=${GO_TOOLCHAIN_DIR:-/usr/local/go-toolchain}
root="$dir/golang.org/toolchain@v0.0.1-${GO_TOOLCHAIN}.linux-amd64"
if [ ! -x "$root/bin/go" ]; then
  echo "fetching Go toolchain ${GO_TOOLCHAIN} from the Go module proxy"
  mkdir -p "$dir"
  curl -fsSL "https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-${GO_TOOLCHAIN}.linux-amd64.zip" -o /tmp/go-toolchain.zip
  python3 -c 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' /tmp/go-toolchain.zip "$dir"
  rm -f /tmp/go-toolchain.zip
  chmod -R +x "$root/bin" "$root/pkg/tool"
fi
ln -sf "$root/bin/go" "$BIN_DIR/go"
ln -sf "$root/bin/gofmt" "$BIN_DIR/gofmt"
echo "go ready: $("$BIN_DIR/go" version)"
