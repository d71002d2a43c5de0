#!/usr/bin/env bash
# Installs everything mozuma-states needs to build, serve and test on Debian 12:
# Debian packages through apt-get, and the pinned npm tools under tools/.
# Idempotent and quiet when everything is already there; run as root (or with
# sudo available).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # toolchain
  g++ make cmake git pkgconf
  # libraries
  libgrpc++-dev libprotobuf-dev libabsl-dev libicu-dev libsqlite3-dev libssl-dev
  # code generators
  protobuf-compiler protobuf-compiler-grpc
  # google/rpc/status.proto and error_details.proto
  golang-github-gogo-googleapis-dev
  # tests
  libgtest-dev libgmock-dev python3 python3-grpcio python3-protobuf python3-pytest
  # `pip install --no-build-isolation client/python` in a venv (offline)
  python3-venv python3-pip python3-setuptools python3-wheel
  # the README's code generation lines, run by tests/docs
  protoc-gen-go protoc-gen-go-grpc protobuf-compiler-grpc-java-plugin
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$package")
  fi
done
# Node.js may come from elsewhere than Debian; any working npm will do.
if ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root to apt-get install ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# buf (lint, breaking, curl) and the Node.js test's gRPC packages, pinned by
# tools/package-lock.json. The stamp makes a second run free, and a changed
# lock file reinstalls.
if [[ ! -x tools/node_modules/.bin/buf || ! -d tools/node_modules/@grpc/grpc-js ||
      tools/package-lock.json -nt tools/node_modules/.stamp ]]; then
  echo "install-deps: installing npm tools (tools/package-lock.json)"
  (cd tools && npm ci --no-audit --no-fund --loglevel=error)
  touch tools/node_modules/.stamp
fi
