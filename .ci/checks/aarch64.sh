#!/usr/bin/env bash
# The Raspberry Pi build must never silently break: cross-build the kiosk with
# real GPIO (feature `rpi`) for aarch64 and run it under qemu.
# Uses its own target directory so it does not wait on the host build's lock.
set -euo pipefail
cd "$(dirname "$0")/../.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/cross}"
target=aarch64-unknown-linux-gnu
bin="$CARGO_TARGET_DIR/$target/release/kiosk"

start=$(date +%s)
cargo build --release --target "$target" -p kiosk --features rpi
echo "aarch64 release build: $(( $(date +%s) - start )) s"
file "$bin" 2>/dev/null || true

run() { qemu-aarch64 -L /usr/aarch64-linux-gnu "$bin" "$@"; }
run --version
run check-config config/examples/phu-xuan.toml
