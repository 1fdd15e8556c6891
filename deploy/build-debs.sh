#!/usr/bin/env bash
# Builds the Raspberry Pi packages: kiosk_<version>_<arch>.deb and
# display-daemon_<version>_<arch>.deb, cross-compiled on a Debian/Ubuntu
# development machine with Debian's cross linkers. Nothing is compiled on
# the Pi.
#
#     bash deploy/build-debs.sh              # arm64 (Raspberry Pi OS 64-bit)
#     bash deploy/build-debs.sh arm64 armhf  # also 32-bit (Pi 2/3/4/5 only)
#
# Needs: rustup targets and cross gcc (bash .ci/steps/deb.sh installs them,
# with ARCHES="arm64 armhf" for both), dpkg-deb, python3.
# Output: $CARGO_TARGET_DIR/debian/*.deb (default target/cross/debian/).
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

# Debian architecture -> Rust target and GNU triplet of the cross tools.
rust_target() {
  case "$1" in
    arm64) echo aarch64-unknown-linux-gnu ;;
    armhf) echo armv7-unknown-linux-gnueabihf ;;
    *) echo "unknown architecture '$1': use arm64 or armhf" >&2; return 1 ;;
  esac
}
gnu_triplet() {
  case "$1" in
    arm64) echo aarch64-linux-gnu ;;
    armhf) echo arm-linux-gnueabihf ;;
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

# build_deb PACKAGE ARCH BINARY: stages /usr/bin/PACKAGE and the files from
# deploy/, writes DEBIAN/, builds the .deb.
build_deb() {
  local pkg=$1 arch=$2 bin=$3 triplet version stage depends size deb
  triplet=$(gnu_triplet "$arch")
  version="$(meta "$pkg" version)-$revision"
  stage="$CARGO_TARGET_DIR/debian/stage/${pkg}_$arch"
  rm -rf "$stage"
  install -d "$stage/DEBIAN" "$stage/usr/bin" "$stage/usr/lib/systemd/system" \
    "$stage/usr/share/doc/$pkg/examples"
  install -m 0755 "$bin" "$stage/usr/bin/$pkg"
  "$triplet-strip" --strip-unneeded "$stage/usr/bin/$pkg"
  install -m 0644 "deploy/systemd/$pkg.service" "$stage/usr/lib/systemd/system/"
  install -m 0644 docs/raspberry-pi.md "$stage/usr/share/doc/$pkg/raspberry-pi.md"
  { cat deploy/debian/copyright; echo; sed 's/^$/./; s/^/ /' printer/fonts/LICENSE-DejaVu.txt; } \
    > "$stage/usr/share/doc/$pkg/copyright"
  case "$pkg" in
    kiosk)
      install -d "$stage/etc/kiosk" "$stage/usr/lib/udev/rules.d"
      install -m 0644 deploy/kiosk/center.toml "$stage/etc/kiosk/center.toml"
      install -m 0644 deploy/udev/60-kiosk-printer.rules "$stage/usr/lib/udev/rules.d/"
      install -m 0644 config/examples/phu-xuan.toml config/examples/thuan-hoa.toml \
        config/examples/minimal.toml deploy/systemd/time-wait-sync-bounded.conf \
        "$stage/usr/share/doc/$pkg/examples/"
      echo /etc/kiosk/center.toml > "$stage/DEBIAN/conffiles"
      ;;
    display-daemon)
      install -d "$stage/etc/display-daemon" "$stage/usr/share/display-daemon/hall-display"
      install -m 0644 deploy/display-daemon/display.toml "$stage/etc/display-daemon/display.toml"
      install -m 0644 config/examples/display-hall.toml config/examples/display-counter.toml \
        "$stage/usr/share/doc/$pkg/examples/"
      cp -p deploy/hall-display/* "$stage/usr/share/display-daemon/hall-display/"
      echo /etc/display-daemon/display.toml > "$stage/DEBIAN/conffiles"
      ;;
  esac
  install -m 0755 "deploy/debian/$pkg/postinst" "deploy/debian/$pkg/prerm" \
    "deploy/debian/$pkg/postrm" "$stage/DEBIAN/"

  depends=$(meta "$pkg" depends)
  depends=${depends//\$auto/$(shlib_depends "$triplet-readelf" "$stage/usr/bin/$pkg")}
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
    echo "Description: $(cargo metadata --no-deps --format-version 1 | python3 -c \
      'import json,sys; n=sys.argv[1]; print(next(p["description"] for p in json.load(sys.stdin)["packages"] if p["name"]==n))' "$pkg")"
    meta "$pkg" extended-description | fold -s -w 78 | sed 's/ *$//; s/^/ /'
  } > "$stage/DEBIAN/control"
  (cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z \
    | xargs -0 md5sum) > "$stage/DEBIAN/md5sums"

  deb="$out/${pkg}_${version}_$arch.deb"
  dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
  echo "built $deb ($(du -k "$deb" | cut -f1) KiB; binary $(du -k "$stage/usr/bin/$pkg" | cut -f1) KiB stripped)"
}

mkdir -p "$out"
for arch in "${arches[@]}"; do
  target=$(rust_target "$arch")
  for pkg in kiosk display-daemon; do
    # One package per cargo call: kiosk's build is then exactly the one of
    # .ci/checks/aarch64.sh and is reused from target/cross.
    start=$(date +%s)
    cargo build --release --locked --target "$target" -p "$pkg" --features rpi
    echo "$pkg $arch release build: $(( $(date +%s) - start )) s"
    build_deb "$pkg" "$arch" "$CARGO_TARGET_DIR/$target/release/$pkg"
  done
done
