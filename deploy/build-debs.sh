#!/usr/bin/env bash
# Builds the Raspberry Pi packages: kiosk_<version>_<arch>.deb and
# display-daemon_<version>_<arch>.deb, cross-compiled on a Debian/Ubuntu
# development machine with Debian's cross linkers. Nothing is compiled on
# the Pi.
#
#     bash deploy/build-debs.sh              # arm64 (Raspberry Pi OS 64-bit)
#     bash deploy/build-debs.sh arm64 armhf  # also 32-bit (Pi 2/3/4/5 only)
#     bash deploy/build-debs.sh amd64        # the city hub for an ordinary server (city-hub_*_amd64.deb)
#
# Needs: rustup targets and cross gcc (bash .ci/steps/deb.sh installs them,
# with ARCHES="arm64 armhf" for both), dpkg-deb, python3, gzip.
# Output: $CARGO_TARGET_DIR/debian/*.deb (default target/cross/debian/).
# DEB_REVISION=N (default 1) builds revision N of the same version.
#
# Besides the binaries, each package carries what a Debian administrator
# expects, made here and never written by hand: manual pages and bash
# completion rendered by `cargo run -p xtask` from the binaries' own clap
# definitions and the config crate's key table (a host build, in
# $HOST_TARGET_DIR, default target/, where the tests already built the
# libraries), and changelog.Debian.gz from CHANGELOG.md.
#
# Why dpkg-deb from a staged tree rather than cargo-deb: no extra tool to
# compile on a 2-core machine, the package layout (units, udev rule,
# conffiles, maintainer scripts) is spelled out in this one file, and the
# result is checked by .ci/checks/deb.sh. The control fields come from
# [package.metadata.deb] in each crate's Cargo.toml (cargo-deb's key names).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target/cross}"
out="${DEB_OUT:-$CARGO_TARGET_DIR/debian}"
revision="${DEB_REVISION:-1}"
arches=("$@")
[ "${#arches[@]}" -gt 0 ] || arches=(arm64)

host_target_dir="${HOST_TARGET_DIR:-$repo/target}"

# Debian architecture -> Rust target and GNU triplet of the cross tools.
rust_target() {
  case "$1" in
    arm64) echo aarch64-unknown-linux-gnu ;;
    armhf) echo armv7-unknown-linux-gnueabihf ;;
    amd64) echo x86_64-unknown-linux-gnu ;;
    *) echo "unknown architecture '$1': use arm64, armhf or amd64" >&2; return 1 ;;
  esac
}
gnu_triplet() {
  case "$1" in
    arm64) echo aarch64-linux-gnu ;;
    armhf) echo arm-linux-gnueabihf ;;
    amd64) echo x86_64-linux-gnu ;;
  esac
}
# The packages of an architecture: the Pi's, or the city hub's server.
packages_for() {
  case "$1" in
    amd64) echo city-hub ;;
    *) echo kiosk display-daemon ;;
  esac
}
# .cargo/config.toml names the aarch64 linker; the armhf one is set here.
export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER=arm-linux-gnueabihf-gcc

meta() { # meta PACKAGE KEY -> [package.metadata.deb] value, or empty
  python3 - "$1" "$2" <<'PY'
import json, subprocess, sys
name, key = sys.argv[1], sys.argv[2]
m = json.loads(subprocess.run(["cargo", "metadata", "--no-deps", "--format-version", "1"],
                              check=True, capture_output=True, text=True).stdout)
p = next(p for p in m["packages"] if p["name"] == name)
if key == "version":
    print(p["version"])
else:
    print((p.get("metadata") or {}).get("deb", {}).get(key, ""))
PY
}

# Debian dependencies of a binary: a package per NEEDED library, and libc6
# at least the newest GLIBC_x.y symbol version it uses.
shlib_depends() {
  local readelf=$1 bin=$2 deps=() lib glibc
  for lib in $("$readelf" -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    case "$lib" in
      libc.so.6|libm.so.6|libpthread.so.0|libdl.so.2|librt.so.1|ld-linux-*.so.*) ;;
      libgcc_s.so.1) deps+=("libgcc-s1") ;;
      *) echo "$bin needs $lib: add its Debian package to shlib_depends in $0" >&2; return 1 ;;
    esac
  done
  glibc=$("$readelf" -V "$bin" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n1)
  echo "libc6 (>= ${glibc:-2.17})${deps:+, $(IFS=,; echo "${deps[*]}" | sed 's/,/, /g')}"
}

# debian_changelog PACKAGE REVISION MAINTAINER: CHANGELOG.md as a Debian
# changelog, newest first; a revision above 1 gets an entry of its own.
debian_changelog() {
  python3 - "$1" "$2" "$3" CHANGELOG.md <<'PY'
import re, sys, textwrap
from datetime import datetime, timezone
pkg, revision, maintainer, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
entries, current = [], None
for line in open(path, encoding="utf-8"):
    m = re.match(r"^## (\S+) \((\d{4}-\d{2}-\d{2})\)\s*$", line)
    if m:
        current = {"version": m.group(1), "date": m.group(2), "items": []}
        entries.append(current)
    elif current is not None and line.startswith("- "):
        current["items"].append(line[2:].strip())
    elif current is not None and line.startswith("  ") and current["items"]:
        current["items"][-1] += " " + line.strip()
if not entries or not all(e["items"] for e in entries):
    sys.exit(f"{path}: every version needs a '## VERSION (YYYY-MM-DD)' heading and a '- ' list")
def stamp(date):
    d = datetime.strptime(date, "%Y-%m-%d").replace(hour=12, tzinfo=timezone.utc)
    return d.strftime("%a, %d %b %Y %H:%M:%S +0000")
def entry(version, items, date):
    body = "\n".join(textwrap.fill(i, 78, initial_indent="  * ", subsequent_indent="    ")
                     for i in items)
    return f"{pkg} ({version}) unstable; urgency=medium\n\n{body}\n\n -- {maintainer}  {stamp(date)}\n"
out = []
top = entries[0]
if revision > 1:
    out.append(entry(f"{top['version']}-{revision}",
                     [f"Package revision {revision} of {top['version']}: rebuilt, no change in the program."],
                     top["date"]))
for e in entries:
    out.append(entry(f"{e['version']}-1", e["items"], e["date"]))
print("\n".join(out), end="")
PY
}

# build_deb PACKAGE ARCH BINARY: stages /usr/bin/PACKAGE and the files from
# deploy/, writes DEBIAN/, builds the .deb.
build_deb() {
  local pkg=$1 arch=$2 bin=$3 triplet version stage depends size deb
  triplet=$(gnu_triplet "$arch")
  version="$(meta "$pkg" version)-$revision"
  stage="$CARGO_TARGET_DIR/debian/stage/${pkg}_$arch"
  rm -rf "$stage"
  install -d "$stage/DEBIAN" "$stage/usr/bin" "$stage/usr/lib/systemd/system" \
    "$stage/usr/share/doc/$pkg/examples" "$stage/usr/share/man/man1" \
    "$stage/usr/share/bash-completion/completions"
  install -m 0755 "$bin" "$stage/usr/bin/$pkg"
  "$triplet-strip" --strip-unneeded --remove-section=.comment "$stage/usr/bin/$pkg"
  install -m 0644 "deploy/systemd/$pkg.service" "$stage/usr/lib/systemd/system/"
  if [ "$pkg" = city-hub ]; then
    install -m 0644 docs/city-hub.md "$stage/usr/share/doc/$pkg/city-hub.md"
  else
    install -m 0644 docs/raspberry-pi.md "$stage/usr/share/doc/$pkg/raspberry-pi.md"
  fi
  # Manual pages and completions exist for the binaries xtask knows.
  if [ -f "$generated/man/$pkg.1" ]; then
    gzip -9n < "$generated/man/$pkg.1" > "$stage/usr/share/man/man1/$pkg.1.gz"
    install -m 0644 "$generated/completions/$pkg" "$stage/usr/share/bash-completion/completions/$pkg"
  else
    rmdir "$stage/usr/share/man/man1" "$stage/usr/share/man" "$stage/usr/share/bash-completion/completions" \
      "$stage/usr/share/bash-completion"
  fi
  debian_changelog "$pkg" "$revision" "$(meta "$pkg" maintainer)" \
    | gzip -9n > "$stage/usr/share/doc/$pkg/changelog.Debian.gz"
  gzip -9n < CHANGELOG.md > "$stage/usr/share/doc/$pkg/changelog.gz"
  # Each override says why, next to it.
  install -D -m 0644 "deploy/debian/$pkg/lintian-overrides" "$stage/usr/share/lintian/overrides/$pkg"
  { cat deploy/debian/copyright; echo; sed 's/^$/./; s/^/ /' printer/fonts/LICENSE-DejaVu.txt; } \
    > "$stage/usr/share/doc/$pkg/copyright"
  case "$pkg" in
    kiosk)
      install -d "$stage/etc/kiosk" "$stage/usr/lib/udev/rules.d" "$stage/usr/share/man/man5"
      gzip -9n < "$generated/man/kiosk-center.toml.5" > "$stage/usr/share/man/man5/kiosk-center.toml.5.gz"
      install -m 0644 deploy/kiosk/center.toml "$stage/etc/kiosk/center.toml"
      install -m 0644 deploy/udev/60-kiosk-printer.rules "$stage/usr/lib/udev/rules.d/"
      install -m 0644 config/examples/phu-xuan.toml config/examples/thuan-hoa.toml \
        config/examples/minimal.toml deploy/systemd/time-wait-sync-bounded.conf \
        "$stage/usr/share/doc/$pkg/examples/"
      echo /etc/kiosk/center.toml > "$stage/DEBIAN/conffiles"
      ;;
    display-daemon)
      install -d "$stage/etc/display-daemon" "$stage/usr/share/display-daemon/hall-display"
      # Holds a display or keypad token: never world-readable, not even
      # between unpack and configure. postinst gives it to the
      # display-daemon group with dpkg-statoverride (root:display-daemon 0640).
      install -m 0640 deploy/display-daemon/display.toml "$stage/etc/display-daemon/display.toml"
      install -m 0644 config/examples/display-hall.toml config/examples/display-counter.toml \
        "$stage/usr/share/doc/$pkg/examples/"
      # Explicit modes: the package must not depend on the checkout's umask.
      install -m 0755 deploy/hall-display/*.sh "$stage/usr/share/display-daemon/hall-display/"
      install -m 0644 deploy/hall-display/hall-board-cage.service deploy/hall-display/hall-board.desktop \
        "$stage/usr/share/display-daemon/hall-display/"
      echo /etc/display-daemon/display.toml > "$stage/DEBIAN/conffiles"
      ;;
    city-hub)
      # Holds every center's reader token: 0640, handed to the city_hub
      # group by postinst (dpkg-statoverride).
      install -D -m 0640 city-hub/hub.example.toml "$stage/etc/city-hub/hub.toml"
      install -m 0644 city-hub/hub.example.toml "$stage/usr/share/doc/$pkg/examples/"
      echo /etc/city-hub/hub.toml > "$stage/DEBIAN/conffiles"
      ;;
  esac
  install -m 0755 "deploy/debian/$pkg/postinst" "deploy/debian/$pkg/prerm" \
    "deploy/debian/$pkg/postrm" "$stage/DEBIAN/"

  depends=$(meta "$pkg" depends)
  depends=${depends//\$auto/$(shlib_depends "$triplet-readelf" "$stage/usr/bin/$pkg")}
  # deb-systemd-helper/-invoke in the maintainer scripts (as debhelper adds).
  depends="$depends, init-system-helpers (>= 1.52)"
  size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
  {
    echo "Package: $pkg"
    echo "Version: $version"
    echo "Architecture: $arch"
    echo "Maintainer: $(meta "$pkg" maintainer)"
    echo "Installed-Size: $size"
    echo "Depends: $depends"
    local field value
    for field in recommends suggests; do
      value=$(meta "$pkg" "$field")
      [ -z "$value" ] || echo "${field^}: $value"
    done
    echo "Section: $(meta "$pkg" section)"
    echo "Priority: $(meta "$pkg" priority)"
    # The synopsis is Debian's (short, no article); the long text is the crate's.
    echo "Description: $(cat "deploy/debian/$pkg/synopsis")"
    meta "$pkg" extended-description | fold -s -w 78 | sed 's/ *$//; s/^/ /'
  } > "$stage/DEBIAN/control"
  (cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z \
    | xargs -0 md5sum) > "$stage/DEBIAN/md5sums"

  deb="$out/${pkg}_${version}_$arch.deb"
  dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
  echo "built $deb ($(du -k "$deb" | cut -f1) KiB; binary $(du -k "$stage/usr/bin/$pkg" | cut -f1) KiB stripped)"
}

mkdir -p "$out"
# Manual pages and completions (architecture-independent): built once.
generated="$CARGO_TARGET_DIR/debian/generated"
rm -rf "$generated"
man_date=$(sed -n 's/^## [^ ]* (\([0-9-]*\)).*/\1/p' CHANGELOG.md | sed -n 1p)
CARGO_TARGET_DIR="$host_target_dir" cargo run --locked -q -p xtask -- man "$generated/man" --date "$man_date"
CARGO_TARGET_DIR="$host_target_dir" cargo run --locked -q -p xtask -- completions "$generated/completions"

for arch in "${arches[@]}"; do
  target=$(rust_target "$arch")
  for pkg in $(packages_for "$arch"); do
    # One package per cargo call: kiosk's build is then exactly the one of
    # .ci/checks/aarch64.sh and is reused from target/cross.
    start=$(date +%s)
    features=()
    [ "$pkg" = city-hub ] || features=(--features rpi)
    cargo build --release --locked --target "$target" -p "$pkg" "${features[@]}"
    echo "$pkg $arch release build: $(( $(date +%s) - start )) s"
    build_deb "$pkg" "$arch" "$CARGO_TARGET_DIR/$target/release/$pkg"
  done
done
