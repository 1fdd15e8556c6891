#!/usr/bin/env bash
# Installs headless Chromium and its WebDriver for the display daemon's hall
# board test (tests/tests/display_e2e.rs drives the page through
# chromedriver). Idempotent: does nothing when both are already on PATH.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "chromium.sh: apt-get not found; install chromium and chromium-driver by hand for the hall board test" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
