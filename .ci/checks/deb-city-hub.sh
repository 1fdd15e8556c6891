#!/usr/bin/env bash
# The city hub's server package (amd64): builds it with the documented
# command (deploy/build-debs.sh amd64, one release build of city-hub only)
# and checks what an administrator installs: the binary runs, the unit
# passes systemd-analyze, the config is a 0640 conffile that the hub's own
# check accepts, the maintainer scripts are there, and lintian reports no
# error or warning. Kept small: no chroot install (the Pi packages' check
# covers the shared maintainer-script pattern).
set -euo pipefail
cd "$(dirname "$0")/../.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/cross}"
if [ -z "${DEB_CHECK_REUSE:-}" ]; then
  start=$(date +%s)
  bash deploy/build-debs.sh amd64
  echo "city-hub deb build: $(( $(date +%s) - start )) s"
fi
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | sed -n 1p)
deb="$CARGO_TARGET_DIR/debian/city-hub_${version}-1_amd64.deb"
[ -f "$deb" ] || { echo "deb check FAILED: no $deb" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "city-hub deb check FAILED: $*" >&2; exit 1; }

dpkg-deb -x "$deb" "$work/root"
dpkg-deb -e "$deb" "$work/control"
"$work/root/usr/bin/city-hub" --version | grep -q "city-hub $version" || fail "the binary does not run"
for f in postinst prerm postrm conffiles; do [ -f "$work/control/$f" ] || fail "no $f"; done
grep -qx /etc/city-hub/hub.toml "$work/control/conffiles" || fail "hub.toml is not a conffile"
[ "$(stat -c %a "$work/root/etc/city-hub/hub.toml")" = 640 ] || fail "hub.toml is not 0640"
"$work/root/usr/bin/city-hub" --config "$work/root/etc/city-hub/hub.toml" check >/dev/null \
  || fail "the shipped hub.toml does not pass city-hub check"
grep -q '^Depends: .*libc6' "$work/control/control" || fail "no libc6 dependency"
unit="$work/root/usr/lib/systemd/system/city-hub.service"
[ -f "$unit" ] || fail "no unit"
# systemd-analyze wants the ExecStart binary where the unit names it.
sed "s|/usr/bin/city-hub|$work/root/usr/bin/city-hub|g" "$unit" > "$work/city-hub.service"
systemd-analyze verify "$work/city-hub.service" || fail "systemd-analyze verify"
if command -v lintian >/dev/null; then
  lintian --fail-on error,warning "$deb" || fail "lintian"
fi
echo "city-hub deb check: ok ($deb)"
