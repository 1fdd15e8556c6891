#!/usr/bin/env bash
# Reliability and security, the proof in one command: power cuts, a full
# disk, printer and network faults, a day of load and hostile input. Prints
# the table (docs/reliability.md explains it) and fails if anything was lost
# or wrong. Needs root for the tmpfs of the disk scenario and the emupos
# emulator (.ci/steps/emupos.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x target/emupos-venv/bin/emupos ] || [ -n "${EMUPOS_BIN:-}" ] || bash .ci/steps/emupos.sh
cargo run --release --locked -p system-tests --bin soak -- --quick
