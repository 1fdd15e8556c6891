#!/usr/bin/env bash
# Installs espeak-ng for the display daemon's voice tests (the default
# text-to-speech backend reads Vietnamese with `espeak-ng -v vi`).
# Idempotent: does nothing when espeak-ng is already on PATH.
set -euo pipefail
if command -v espeak-ng >/dev/null; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "espeak.sh: apt-get not found; install espeak-ng by hand for the voice tests" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends espeak-ng >/dev/null
