#!/usr/bin/env bash
# The Raspberry Pi packages: builds the arm64 .debs with the documented
# command (deploy/build-debs.sh, reusing target/cross from the aarch64
# check) and checks what a technician will install: aarch64 binaries that
# run (under qemu), the systemd units (verified by systemd-analyze), the
# udev rule, the default configs as conffiles that pass the config check,
# and maintainer scripts that create the service users.
set -euo pipefail
cd "$(dirname "$0")/../.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/cross}"
start=$(date +%s)
bash deploy/build-debs.sh arm64
echo "deb build (both packages): $(( $(date +%s) - start )) s"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | sed -n 1p)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "deb check FAILED: $*" >&2; exit 1; }

check_package() {
  local pkg=$1 deb root ctl machine
  deb="$CARGO_TARGET_DIR/debian/${pkg}_${version}-1_arm64.deb"
  [ -f "$deb" ] || fail "$deb was not built"
  root="$work/$pkg"; ctl="$work/$pkg-DEBIAN"
  dpkg-deb -x "$deb" "$root"
  dpkg-deb -e "$deb" "$ctl"
  echo "== $pkg: $(du -k "$deb" | cut -f1) KiB"
  dpkg-deb --contents "$deb" | awk '{print "   " $1, $2, $6}'

  grep -qx "Package: $pkg" "$ctl/control" || fail "$pkg: wrong Package field"
  grep -qx "Architecture: arm64" "$ctl/control" || fail "$pkg: not Architecture arm64"
  grep -q "^Depends: libc6 (>= 2\.[0-9]*)" "$ctl/control" || fail "$pkg: no libc6 dependency"

  # ELF header: class 64-bit (byte 4 = 2) and e_machine 0xB7 (EM_AARCH64).
  local bin="$root/usr/bin/$pkg"
  [ -x "$bin" ] || fail "$pkg: /usr/bin/$pkg missing or not executable"
  machine=$(od -An -tx1 -j18 -N2 "$bin" | tr -d ' \n')
  [ "$machine" = "b700" ] || fail "$pkg: e_machine is $machine, not b700 (aarch64)"
  [ "$(od -An -tx1 -j4 -N1 "$bin" | tr -d ' \n')" = 02 ] || fail "$pkg: not a 64-bit ELF"
  file "$bin" | grep -q "ARM aarch64" || fail "$pkg: file says $(file -b "$bin")"
  qemu-aarch64 -L /usr/aarch64-linux-gnu "$bin" --version

  local unit="$root/usr/lib/systemd/system/$pkg.service"
  [ -f "$unit" ] || fail "$pkg: systemd unit missing"
  sed "s#/usr/bin/$pkg#$bin#g" "$unit" > "$work/$pkg.service"
  systemd-analyze verify "$work/$pkg.service" || fail "$pkg: systemd-analyze verify"

  for script in postinst prerm postrm; do
    [ -x "$ctl/$script" ] || fail "$pkg: maintainer script $script missing"
    sh -n "$ctl/$script" || fail "$pkg: $script is not valid sh"
  done
  grep -q "useradd --system" "$ctl/postinst" || fail "$pkg: postinst creates no system user"
  grep -q "usermod --append --groups" "$ctl/postinst" || fail "$pkg: postinst adds no groups"
  [ -f "$root/usr/share/doc/$pkg/copyright" ] || fail "$pkg: no copyright file"
  [ -f "$root/usr/share/doc/$pkg/raspberry-pi.md" ] || fail "$pkg: no install guide"
  (cd "$root" && md5sum --quiet -c "$ctl/md5sums") || fail "$pkg: md5sums do not match"
}

check_package kiosk
root="$work/kiosk"
grep -qx /etc/kiosk/center.toml "$work/kiosk-DEBIAN/conffiles" || fail "center.toml is not a conffile"
grep -q 'data_dir = "/var/lib/kiosk"' "$root/etc/kiosk/center.toml" || fail "default config does not use /var/lib/kiosk"
grep -q "User=kiosk" "$root/usr/lib/systemd/system/kiosk.service" || fail "kiosk unit does not run as kiosk"
grep -q "Type=notify" "$root/usr/lib/systemd/system/kiosk.service" || fail "kiosk unit is not Type=notify"
grep -q "groups.*gpio lp dialout\|for group in gpio lp dialout" "$work/kiosk-DEBIAN/postinst" || fail "kiosk postinst: gpio lp dialout"
[ -f "$root/usr/lib/udev/rules.d/60-kiosk-printer.rules" ] || fail "udev rule missing"
grep -q 'SYMLINK+="kiosk-printer"' "$root/usr/lib/udev/rules.d/60-kiosk-printer.rules" || fail "udev rule makes no symlink"
qemu-aarch64 -L /usr/aarch64-linux-gnu "$root/usr/bin/kiosk" check-config "$root/etc/kiosk/center.toml" >/dev/null \
  || fail "the packaged default config does not pass kiosk check-config"

check_package display-daemon
root="$work/display-daemon"
grep -qx /etc/display-daemon/display.toml "$work/display-daemon-DEBIAN/conffiles" || fail "display.toml is not a conffile"
for f in hall-board-browser.sh hall-board.desktop hall-board-cage.service setup-hall-display.sh; do
  [ -f "$root/usr/share/display-daemon/hall-display/$f" ] || fail "hall display file $f missing"
done
sed -e "s#/usr/bin/cage#$root/usr/share/display-daemon/hall-display/hall-board-browser.sh#" \
  "$root/usr/share/display-daemon/hall-display/hall-board-cage.service" > "$work/hall-board.service"
systemd-analyze verify "$work/hall-board.service" || fail "hall-board-cage.service: systemd-analyze verify"
echo "deb check: ok"
