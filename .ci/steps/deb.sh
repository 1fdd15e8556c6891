#!/usr/bin/env bash
# Setup for building the Raspberry Pi .deb packages (deploy/build-debs.sh):
# the Rust targets, Debian's cross gcc and binutils (linker, strip, readelf),
# qemu to run the packaged binary, `file`, python3 (reads Cargo metadata)
# and systemd-analyze to verify the units (the package only; systemd is not
# booted), lintian and man-db (`man -l`) for .ci/checks/deb.sh, and the
# shadow tools (useradd) that its throwaway install root borrows.
# ARCHES="arm64 armhf" adds the 32-bit toolchain. Idempotent.
set -euo pipefail

arches=${ARCHES:-arm64}
pkgs=(dpkg file python3 systemd qemu-user lintian man-db passwd gzip curl)
for arch in $arches; do
  case "$arch" in
    arm64) target=aarch64-unknown-linux-gnu; pkgs+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross) ;;
    armhf) target=armv7-unknown-linux-gnueabihf; pkgs+=(gcc-arm-linux-gnueabihf libc6-dev-armhf-cross) ;;
    *) echo "unknown architecture $arch (arm64 or armhf)" >&2; exit 1 ;;
  esac
  rustup target list --installed | grep -qx "$target" || rustup target add "$target"
done

missing=()
for pkg in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
dpkg-deb --version | sed -n 1p
systemd-analyze --version | sed -n 1p
lintian --version
