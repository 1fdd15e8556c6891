#!/usr/bin/env bash
# Installs the `emupos` ESC/POS printer emulator used by printer/tests/emupos.rs
# into target/emupos-venv (emupos needs Python >= 3.13).
# Re-running is cheap: an existing venv with the pinned version is kept.
set -euo pipefail
cd "$(dirname "$0")/../.."

EMUPOS_VERSION="0.4.0"
VENV="target/emupos-venv"

if [ -x "$VENV/bin/emupos" ] && "$VENV/bin/python" -m pip show emupos 2>/dev/null | grep -qx "Version: $EMUPOS_VERSION"; then
  echo "emupos $EMUPOS_VERSION already installed in $VENV"
  exit 0
fi

python=""
for candidate in "$HOME/.pyenv/versions/3.13.0/bin/python3" python3.13 python3.14 python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
    "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 13) else 1)' 2>/dev/null; then
    python="$candidate"
    break
  fi
done
if [ -z "$python" ]; then
  echo "error: emupos needs Python >= 3.13; install it (e.g. pyenv install 3.13.0) and re-run $0" >&2
  exit 1
fi

mkdir -p target
"$python" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "emupos==$EMUPOS_VERSION"
echo "$("$VENV/bin/emupos" --version) installed in $VENV (python: $python)"
