#!/usr/bin/env bash
# Setup for the Raspberry Pi cross build: the aarch64 Rust target, Debian's
# cross linker and C library, and qemu to run the result. Idempotent.
set -euo pipefail

if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  rustup target add aarch64-unknown-linux-gnu
fi

missing=()
for pkg in gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

aarch64-linux-gnu-gcc --version | sed -n 1p
qemu-aarch64 --version | sed -n 1p
