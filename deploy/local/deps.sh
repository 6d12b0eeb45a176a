#!/usr/bin/env bash
# Installs exactly the Debian packages propdesk needs to build, test and run,
# skipping what is already installed (idempotent), and the pinned buf CLI from
# npm for proto lint. Run by `make deps`, which `make run|test|bench` call.
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config make git python3 ca-certificates
  # libraries
  libgrpc++-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
  libhiredis-dev libmysqlcppconn-dev prometheus-cpp-dev libboost-dev
  libssl-dev libhowardhinnant-date-dev tzdata libjemalloc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # standard protos: google/api + google/rpc, grpc health
  golang-github-gogo-googleapis-dev grpc-proto
  # servers the tests and `make run` start as plain processes
  mariadb-server mariadb-client redis-server redis-tools prometheus
  # proto lint (buf from npm) and benchmarks
  nodejs curl
)

have_node() { command -v node >/dev/null && command -v npm >/dev/null; }

missing=()
for p in "${PACKAGES[@]}"; do
  # A Node.js from another source satisfies nodejs when it brings npm.
  [ "$p" = nodejs ] && have_node && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # The packaged servers must not start as system services: propdesk starts
  # its own on loopback ports. policy-rc.d keeps their postinst from starting them.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  command -v npm >/dev/null || $SUDO apt-get install -y -qq --no-install-recommends npm
fi

# buf, pinned, installed into the repo's tool dir (git-ignored).
BUF_VERSION=1.75.0
TOOLS=${PROPDESK_TOOLS_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/.tools}
if [ ! -x "$TOOLS/node_modules/.bin/buf" ] || \
   [ "$("$TOOLS/node_modules/.bin/buf" --version 2>/dev/null)" != "$BUF_VERSION" ]; then
  echo "deps: installing @bufbuild/buf@$BUF_VERSION"
  mkdir -p "$TOOLS"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS" "@bufbuild/buf@$BUF_VERSION" >/dev/null
fi
