#!/usr/bin/env bash
# The Raspberry Pi packages: builds the arm64 .debs with the documented
# command (deploy/build-debs.sh, reusing target/cross from the aarch64
# check) and checks what a technician will install: aarch64 binaries that
# run (under qemu), the systemd units (verified by systemd-analyze), the
# udev rule, the default configs as conffiles that pass the config check,
# and maintainer scripts that create the service users. Then what a Debian
# administrator checks: lintian (no error, no warning), the manual pages
# (`man -l`), the bash completion, and an install and an upgrade to a
# rebuilt revision, with dpkg in a throwaway chroot (see upgrade_check
# below) that must keep the data, accounts, tokens and
# config and restart each service exactly once.
set -euo pipefail
cd "$(dirname "$0")/../.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/cross}"
# DEB_CHECK_REUSE=1 checks the .debs already built (while fixing the check).
if [ -z "${DEB_CHECK_REUSE:-}" ]; then
  start=$(date +%s)
  bash deploy/build-debs.sh arm64
  echo "deb build (both packages): $(( $(date +%s) - start )) s"
  # Revision 2 of the same build (no compilation): the upgrade target.
  DEB_REVISION=2 bash deploy/build-debs.sh arm64 | grep '^built'
fi

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | sed -n 1p)
work=$(mktemp -d)
demo_pid=
trap '[ -z "$demo_pid" ] || kill "$demo_pid" 2>/dev/null; [ -n "${DEB_CHECK_KEEP:-}" ] || rm -rf "$work"' EXIT
fail() { echo "deb check FAILED: $*" >&2; exit 1; }

# A throwaway root to install into, chrooted: it gets dpkg, a shell, the
# tools the maintainer scripts call (copied from this machine with their
# libraries) and minimal account files. systemctl, deb-systemd-helper,
# deb-systemd-invoke and /usr/sbin/policy-rc.d are stubs that log each call
# to /var/log/service-calls, so the check sees what a real systemd would
# have been asked to do; /run/systemd/system makes the scripts believe
# systemd runs. The stub deb-systemd-invoke asks policy-rc.d first, as the
# real one does (0 or 104: go on, 101: do nothing).
make_root() {
  local r=$1 tool path lib
  mkdir -p "$r"/usr/{bin,sbin,lib,lib64} "$r"/etc "$r"/var/lib/dpkg/{info,updates,triggers} \
    "$r"/run/systemd/system "$r"/tmp "$r"/var/log
  ln -s usr/bin "$r/bin"; ln -s usr/sbin "$r/sbin"; ln -s usr/lib "$r/lib"; ln -s usr/lib64 "$r/lib64"
  touch "$r/var/lib/dpkg/status" "$r/var/lib/dpkg/available"
  mkdir -p "$r/dev" && mknod -m 0666 "$r/dev/null" c 1 3
  for tool in sh dash getent useradd usermod groupadd install chown chmod chgrp rm mkdir cat ln \
    id stat readlink dpkg dpkg-deb dpkg-query dpkg-split dpkg-statoverride ldconfig start-stop-daemon \
    touch sed mv nologin tar diff find; do
    path=$(command -v "$tool") || fail "the root needs $tool on this machine"
    install -D -m 0755 "$path" "$r$path"
    for lib in $(ldd "$path" 2>/dev/null | grep -o '/[^ ]*'); do
      [ -e "$r$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$r$lib"
    done
  done
  cp /etc/login.defs "$r/etc/"
  printf 'passwd: files\ngroup: files\nshadow: files\n' > "$r/etc/nsswitch.conf"
  echo 'root:x:0:0:root:/root:/bin/sh' > "$r/etc/passwd"
  echo 'root:*:19000:0:99999:7:::' > "$r/etc/shadow"
  # lp, dialout and audio exist, gpio does not (as off a Pi): postinst
  # must skip the missing one.
  printf 'root:x:0:\nlp:x:7:\ndialout:x:20:\naudio:x:29:\n' > "$r/etc/group"
  printf 'root:*::\nlp:*::\ndialout:*::\naudio:*::\n' > "$r/etc/gshadow"
  chmod 0640 "$r/etc/shadow" "$r/etc/gshadow"
  local stub
  for stub in systemctl deb-systemd-helper; do
    cat > "$r/usr/bin/$stub" <<STUB
#!/bin/sh
echo "$stub \$*" >> /var/log/service-calls
# Nothing was enabled before: was-enabled and debian-installed say no.
case "\$*" in *was-enabled*|*debian-installed*) exit 1 ;; esac
exit 0
STUB
  done
  cat > "$r/usr/bin/deb-systemd-invoke" <<'STUB'
#!/bin/sh
action=$1; shift
for unit in "$@"; do
  if [ -x /usr/sbin/policy-rc.d ]; then
    set +e; /usr/sbin/policy-rc.d "$unit" "$action"; code=$?; set -e
    [ "$code" = 101 ] && { echo "deb-systemd-invoke $action $unit: refused by policy-rc.d" >> /var/log/service-calls; continue; }
  fi
  echo "deb-systemd-invoke $action $unit" >> /var/log/service-calls
done
STUB
  cat > "$r/usr/sbin/policy-rc.d" <<'STUB'
#!/bin/sh
echo "policy-rc.d $*" >> /var/log/service-calls
exit "$(cat /etc/policy-rc.d.answer 2>/dev/null || echo 0)"
STUB
  chmod 0755 "$r/usr/bin/systemctl" "$r/usr/bin/deb-systemd-helper" "$r/usr/bin/deb-systemd-invoke" \
    "$r/usr/sbin/policy-rc.d"
}

# Prints path, owner, group, mode and checksum of every file under the
# given directories of root $1: the state an upgrade must keep.
snapshot() {
  local r=$1; shift
  (cd "$r" && find "$@" -type f -print0 | sort -z | xargs -0 stat -c '%n %u %g %a' \
    && find "$@" -type f -print0 | sort -z | xargs -0 sha256sum)
  # (numeric owners: the names would be this machine's)
}

# perms_in ROOT PATH: "user:group mode" of PATH, names from ROOT's own
# account files (this machine's would name other users).
perms_in() {
  local u g m
  read -r u g m < <(stat -c '%u %g %a' "$1$2")
  echo "$(awk -F: -v id="$u" '$3 == id {print $1}' "$1/etc/passwd"):$(awk -F: -v id="$g" '$3 == id {print $1}' "$1/etc/group") $m"
}

# dpkg_root ROOT OPTIONS... DEBS...: dpkg itself runs chrooted into ROOT (not
# `dpkg --root` from outside, which resolves the users and groups of a stat
# override with this machine's account files instead of ROOT's).
dpkg_root() {
  local r=$1 arg args=()
  shift
  for arg in "$@"; do
    if [ -f "$arg" ]; then
      cp "$arg" "$r/tmp/"
      args+=("/tmp/$(basename "$arg")")
    else
      args+=("$arg")
    fi
  done
  chroot "$r" dpkg --force-architecture --force-depends "${args[@]}"
}

run_in() { qemu-aarch64 -L /usr/aarch64-linux-gnu "$@"; }

# queue_data KIOSK DIR: a real queue store with two issued tickets, made by
# the packaged binary's demo (Phú Xuân config, simulated printer) in DIR:
# a press of Hộ tịch and one of Chứng thực on the demo page, then SIGTERM. Every wait ends
# within 90 s with a message.
queue_data() {
  local kiosk=$1 dir=$2 port pid deadline
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  qemu-aarch64 -L /usr/aarch64-linux-gnu "$kiosk" demo --dir "$dir" --listen "127.0.0.1:$port" </dev/null > "$dir.log" 2>&1 &
  pid=$!
  demo_pid=$pid
  deadline=$(( $(date +%s) + 90 ))
  until curl -sf -X POST "http://127.0.0.1:$port/demo/press/ho-tich" >/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || { kill "$pid"; cat "$dir.log"; fail "the demo kiosk did not answer on port $port within 90 s"; }
    sleep 0.5
  done
  until [ -f "$dir/tickets/print-0001.bin" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { kill "$pid"; cat "$dir.log"; fail "the demo printed no ticket within 90 s"; }
    sleep 0.2
  done
  curl -sf -X POST "http://127.0.0.1:$port/demo/press/chung-thuc" >/dev/null || fail "second press refused"
  until [ -f "$dir/tickets/print-0002.bin" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { kill "$pid"; cat "$dir.log"; fail "the demo printed no second ticket within 90 s"; }
    sleep 0.2
  done
  kill -TERM "$pid"
  wait "$pid" || fail "the demo kiosk did not stop cleanly on SIGTERM: $(cat "$dir.log")"
  demo_pid=
}

# Install revision 1 of both packages, make the state a center has (an
# edited center file, an account, a device token, a queue store, a display
# config with that token), upgrade to revision 2 and check that all of it
# is still there, byte for byte, readable by the new binaries, and that
# each service was restarted exactly once and nothing else.
upgrade_check() {
  echo "== install and upgrade, dpkg in a throwaway chroot"
  local r="$work/root" deb1 deb2 calls state_before state_after listing
  make_root "$r"; echo "   root: $r" 
  deb1=("$CARGO_TARGET_DIR/debian/kiosk_${version}-1_arm64.deb" "$CARGO_TARGET_DIR/debian/display-daemon_${version}-1_arm64.deb")
  deb2=("$CARGO_TARGET_DIR/debian/kiosk_${version}-2_arm64.deb" "$CARGO_TARGET_DIR/debian/display-daemon_${version}-2_arm64.deb")
  dpkg_root "$r" -i "${deb1[@]}" > "$work/install.log" 2>&1 || { cat "$work/install.log"; fail "dpkg -i of revision 1"; }
  dpkg-query --admindir="$r/var/lib/dpkg" -W -f='${Package} ${Version} ${Status}\n' kiosk display-daemon \
    | tee "$work/status" | sed 's/^/   /'
  grep -qx "kiosk $version-1 install ok installed" "$work/status" || fail "kiosk not configured"
  grep -qx "display-daemon $version-1 install ok installed" "$work/status" || fail "display-daemon not configured"
  grep -q '^kiosk:x:[0-9]*:[0-9]*:Queue ticket kiosk:/var/lib/kiosk:/usr/sbin/nologin$' "$r/etc/passwd" \
    || fail "postinst made no kiosk system user"
  grep -q '^lp:.*kiosk' "$r/etc/group" || fail "kiosk user not in the lp group"
  grep -q '^audio:.*display-daemon' "$r/etc/group" || fail "display-daemon user not in the audio group"
  [ "$(perms_in "$r" /etc/display-daemon/display.toml)" = "root:display-daemon 640" ] \
    || fail "/etc/display-daemon/display.toml is $(perms_in "$r" /etc/display-daemon/display.toml), not root:display-daemon 640"
  [ "$(perms_in "$r" /var/lib/kiosk)" = "kiosk:kiosk 750" ] || fail "/var/lib/kiosk is $(perms_in "$r" /var/lib/kiosk)"
  [ "$(perms_in "$r" /etc/kiosk)" = "root:kiosk 2775" ] || fail "/etc/kiosk is $(perms_in "$r" /etc/kiosk)"
  if grep -v -e '^deb-systemd-helper ' -e '^systemctl --system daemon-reload$' "$r/var/log/service-calls"; then
    fail "a first install must start nothing (calls above)"
  fi

  # A center's state: the technician's edit of the conffile, an account,
  # a display token, the queue store (opened by `kiosk report`), and that
  # token in the display's config.
  local kiosk1="$r/usr/bin/kiosk" token today
  echo "# edited by the technician: kept on upgrade" >> "$r/etc/kiosk/center.toml"
  queue_data "$kiosk1" "$work/demo"
  cp -a "$work/demo/data/." "$r/var/lib/kiosk/"
  echo "mat-khau-quan-tri-dai" | run_in "$kiosk1" user add quantri --role admin --data-dir "$r/var/lib/kiosk" >/dev/null
  token=$(run_in "$kiosk1" token add bang-sanh --role display --data-dir "$r/var/lib/kiosk" 2>/dev/null | sed -n 1p)
  [ -n "$token" ] || fail "kiosk token add printed no token"
  # The store as `kiosk report` reads it (the demo's config, this data dir).
  sed "s#^data_dir = .*#data_dir = \"$r/var/lib/kiosk\"#" "$r/usr/share/doc/kiosk/examples/phu-xuan.toml" > "$work/report.toml"
  today=$(TZ=Asia/Ho_Chi_Minh date +%F)
  report() { run_in "$1" report --config "$work/report.toml" --from "$today" --to "$today" --format csv --no-bom; }
  report "$kiosk1" > "$work/report-before.csv" || fail "kiosk report cannot read the demo's store"
  sed -i "s#^token = .*#token = \"$token\"#" "$r/etc/display-daemon/display.toml"
  chown -R "$(awk -F: '$1 == "kiosk" {print $3 ":" $4}' "$r/etc/passwd")" "$r/var/lib/kiosk"
  state_before=$(snapshot "$r" var/lib/kiosk etc/kiosk etc/display-daemon)
  grep -E '^(kiosk|display-daemon):' "$r/etc/passwd" > "$work/users-before"

  : > "$r/var/log/service-calls"
  dpkg_root "$r" --force-confold -i "${deb2[@]}" > "$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log"; fail "dpkg -i of revision 2 (upgrade)"; }
  dpkg-query --admindir="$r/var/lib/dpkg" -W -f='${Package} ${Version} ${Status}\n' kiosk display-daemon \
    | tee "$work/status" | sed 's/^/   /'
  grep -qx "kiosk $version-2 install ok installed" "$work/status" || fail "kiosk not upgraded"
  grep -qx "display-daemon $version-2 install ok installed" "$work/status" || fail "display-daemon not upgraded"
  state_after=$(snapshot "$r" var/lib/kiosk etc/kiosk etc/display-daemon)
  if [ "$state_before" != "$state_after" ]; then
    diff <(echo "$state_before") <(echo "$state_after") || true
    fail "the upgrade changed the data, accounts, tokens or config (above)"
  fi
  grep -E '^(kiosk|display-daemon):' "$r/etc/passwd" | diff "$work/users-before" - || fail "the upgrade changed the service users"
  echo "   data, accounts, tokens and config unchanged: $(echo "$state_after" | awk 'NF == 4' | wc -l) files"
  echo "$state_after" | awk 'NF == 4 {print "     " $0}'
  listing=$(run_in "$r/usr/bin/kiosk" user list --data-dir "$r/var/lib/kiosk") || fail "kiosk user list after the upgrade"
  grep -q quantri <<<"$listing" || fail "the account is gone after the upgrade: $listing"
  listing=$(run_in "$r/usr/bin/kiosk" token list --data-dir "$r/var/lib/kiosk") || fail "kiosk token list after the upgrade"
  grep -q bang-sanh <<<"$listing" || fail "the token is gone after the upgrade: $listing"
  report "$r/usr/bin/kiosk" > "$work/report-after.csv" || fail "the upgraded kiosk cannot read the store"
  diff "$work/report-before.csv" "$work/report-after.csv" || fail "the report of the same days differs after the upgrade"
  grep -q "2" "$work/report-after.csv" || fail "the report shows no issued ticket: $(cat "$work/report-after.csv")"
  grep -qx "token = \"$token\"" "$r/etc/display-daemon/display.toml" || fail "display.toml lost its token"
  [ "$(perms_in "$r" /etc/display-daemon/display.toml)" = "root:display-daemon 640" ] \
    || fail "after the upgrade display.toml is $(perms_in "$r" /etc/display-daemon/display.toml)"

  calls=$(cat "$r/var/log/service-calls")
  echo "$calls" | sed 's/^/   call: /'
  for unit in kiosk.service display-daemon.service; do
    [ "$(grep -cx "deb-systemd-invoke restart $unit" <<<"$calls")" = 1 ] || fail "$unit was not restarted exactly once"
    grep -qx "policy-rc.d $unit restart" <<<"$calls" || fail "policy-rc.d was not asked before restarting $unit"
  done
  if grep -E 'stop|start' <<<"$calls" | grep -v 'restart'; then
    fail "the upgrade stopped or started a service besides the one restart"
  fi

  # policy-rc.d saying no (101, as in a chroot or an image build): no restart.
  echo 101 > "$r/etc/policy-rc.d.answer"
  : > "$r/var/log/service-calls"
  dpkg_root "$r" --force-confold -i "${deb2[@]}" > "$work/reinstall.log" 2>&1 || { cat "$work/reinstall.log"; fail "dpkg -i reinstall"; }
  if grep -E '^deb-systemd-invoke (restart|start|stop) [^ :]+$' "$r/var/log/service-calls"; then
    fail "a service was restarted although policy-rc.d refused"
  fi
  [ "$(grep -c 'refused by policy-rc.d$' "$r/var/log/service-calls")" = 2 ] || fail "policy-rc.d was not asked for both services"
  rm "$r/etc/policy-rc.d.answer"
  echo "   policy-rc.d 101: no restart"

  symlink_check "$r"
}

# #15: the kiosk group may write /etc/kiosk; a center.toml that is a
# symbolic link (planted by a compromised kiosk) must make postinst stop
# with a clear message and leave the file it points to as it was.
symlink_check() {
  local r=$1 out code
  printf 'secret\n' > "$r/etc/victim"
  chmod 0600 "$r/etc/victim"
  mv "$r/etc/kiosk/center.toml" "$work/center.toml.saved"
  ln -s /etc/victim "$r/etc/kiosk/center.toml"
  set +e
  out=$(chroot "$r" /var/lib/dpkg/info/kiosk.postinst configure "$version-2" 2>&1)
  code=$?
  set -e
  echo "$out" | sed 's/^/   postinst with a symlinked center.toml: /'
  [ "$code" != 0 ] || fail "postinst accepted a symlinked /etc/kiosk/center.toml"
  grep -q "is a symbolic link" <<<"$out" || fail "postinst's refusal does not say why: $out"
  [ "$(perms_in "$r" /etc/victim)" = "root:root 600" ] || fail "postinst changed the symlink's target to $(perms_in "$r" /etc/victim)"
  rm "$r/etc/kiosk/center.toml"
  mv "$work/center.toml.saved" "$r/etc/kiosk/center.toml"
  chroot "$r" /var/lib/dpkg/info/kiosk.postinst configure "$version-2" >/dev/null 2>&1 \
    || fail "postinst fails with a regular center.toml"
  [ "$(perms_in "$r" /etc/kiosk/center.toml | cut -d' ' -f1)" = "root:kiosk" ] || fail "center.toml is not root:kiosk"
}

# #15: every packaged file is root's, nothing is writable by group or
# others, only the programs are executable, and the display's config
# (it holds a device token) is not world-readable.
check_modes() {
  local pkg=$1 deb=$2 mode owner path want bad=0
  while read -r mode owner _ _ _ path _; do
    case "$path" in
      */) want=drwxr-xr-x ;;
      ./usr/bin/"$pkg"|./usr/share/display-daemon/hall-display/*.sh) want=-rwxr-xr-x ;;
      ./etc/display-daemon/display.toml) want=-rw-r----- ;;
      *) want=-rw-r--r-- ;;
    esac
    if [ "$mode" != "$want" ] || [ "$owner" != root/root ]; then
      echo "   $pkg: $path is $mode $owner, should be $want root/root" >&2
      bad=1
    fi
  done < <(dpkg-deb --contents "$deb")
  [ "$bad" = 0 ] || fail "$pkg: packaged file modes (above)"
}

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
  # verify exits 0 even on an unknown key or a bad value: any output fails.
  local verify
  verify=$(systemd-analyze verify "$work/$pkg.service" 2>&1) || fail "$pkg: systemd-analyze verify: $verify"
  [ -z "$verify" ] || fail "$pkg: systemd-analyze verify warns: $verify"
  # #15: resource ceilings and /proc and IPC isolation.
  local directive
  for directive in LimitNOFILE=4096 MemoryMax= TasksMax= ProtectProc=invisible ProcSubset=pid RemoveIPC=yes \
    DevicePolicy=closed NoNewPrivileges=yes; do
    grep -q "^$directive" "$unit" || fail "$pkg: unit lacks $directive"
  done
  ! grep -q '^DeviceAllow=char-usb' "$unit" || fail "$pkg: DeviceAllow=char-usb admits every usbmisc device"

  for script in postinst prerm postrm; do
    [ -x "$ctl/$script" ] || fail "$pkg: maintainer script $script missing"
    sh -n "$ctl/$script" || fail "$pkg: $script is not valid sh"
  done
  grep -q "useradd --system" "$ctl/postinst" || fail "$pkg: postinst creates no system user"
  grep -q "usermod --append --groups" "$ctl/postinst" || fail "$pkg: postinst adds no groups"
  [ -f "$root/usr/share/doc/$pkg/copyright" ] || fail "$pkg: no copyright file"
  [ -f "$root/usr/share/doc/$pkg/raspberry-pi.md" ] || fail "$pkg: no install guide"
  (cd "$root" && md5sum --quiet -c "$ctl/md5sums") || fail "$pkg: md5sums do not match"
  check_modes "$pkg" "$deb"

  # No systemctl start/stop/restart behind policy-rc.d's back.
  if cat "$ctl/postinst" "$ctl/prerm" "$ctl/postrm" | grep -vE '^ *(#|echo )' \
      | grep -E 'systemctl +(--[a-z]+ +)*(start|stop|restart|try-restart|enable|disable)'; then
    fail "$pkg: a maintainer script calls systemctl directly; use deb-systemd-invoke/-helper"
  fi
  grep -q "deb-systemd-invoke restart '$pkg.service'" "$ctl/postinst" || fail "$pkg: postinst restarts nothing on upgrade"

  # Debian documentation: changelog from CHANGELOG.md, manual pages that
  # render without a groff warning, bash completion that bash accepts.
  zcat "$root/usr/share/doc/$pkg/changelog.Debian.gz" | sed -n 1p | grep -qx "$pkg ($version-1) unstable; urgency=medium" \
    || fail "$pkg: changelog.Debian.gz does not start with $version-1"
  local page pages=("$root/usr/share/man/man1/$pkg.1.gz") warnings
  [ "$pkg" = kiosk ] && pages+=("$root/usr/share/man/man5/kiosk-center.toml.5.gz")
  for page in "${pages[@]}"; do
    [ -f "$page" ] || fail "$pkg: manual page ${page#"$root"} missing"
    warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 "$page" 2>&1 >/dev/null)
    [ -z "$warnings" ] || fail "$pkg: man -l ${page#"$root"} warns: $warnings"
    LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$page" > "$work/page.txt" 2>/dev/null
    grep -q "^NAME" "$work/page.txt" || fail "$pkg: man -l ${page#"$root"} renders no NAME section"
    echo "   man -l ${page#"$root"}: $(wc -l < "$work/page.txt") lines"
  done
  local completion="$root/usr/share/bash-completion/completions/$pkg"
  [ -f "$completion" ] || fail "$pkg: bash completion missing"
  bash -c "source '$completion' && complete -p $pkg" >/dev/null || fail "$pkg: bash completion does not load"
}

check_package kiosk
root="$work/kiosk"
grep -qx /etc/kiosk/center.toml "$work/kiosk-DEBIAN/conffiles" || fail "center.toml is not a conffile"
grep -q 'data_dir = "/var/lib/kiosk"' "$root/etc/kiosk/center.toml" || fail "default config does not use /var/lib/kiosk"
grep -q "User=kiosk" "$root/usr/lib/systemd/system/kiosk.service" || fail "kiosk unit does not run as kiosk"
grep -q "Type=notify" "$root/usr/lib/systemd/system/kiosk.service" || fail "kiosk unit is not Type=notify"
grep -q "groups.*gpio lp dialout\|for group in gpio lp dialout" "$work/kiosk-DEBIAN/postinst" || fail "kiosk postinst: gpio lp dialout"
[ -f "$root/usr/lib/udev/rules.d/60-kiosk-printer.rules" ] || fail "udev rule missing"
man_text=$(MANWIDTH=200 man -l "$root/usr/share/man/man1/kiosk.1.gz" 2>/dev/null)
for sub in run demo check-config "user add" "user passwd" "token add" "token revoke" report print-test; do
  grep -q "^ *kiosk $sub\b" <<<"$man_text" || fail "kiosk(1) has no section for 'kiosk $sub'"
done
man_text=$(MANWIDTH=200 man -l "$root/usr/share/man/man5/kiosk-center.toml.5.gz" 2>/dev/null)
for key in data_dir paper_width_mm on_exhausted max_in_a_row; do
  grep -q "$key" <<<"$man_text" || fail "kiosk-center.toml(5) does not mention $key"
done
grep -q 'SYMLINK+="kiosk-printer"' "$root/usr/lib/udev/rules.d/60-kiosk-printer.rules" || fail "udev rule makes no symlink"
# The udev rule's /dev/kiosk-printer is a usblp node (major 180, minors
# 0-15): the unit must allow each of them, and nothing else of major 180.
for minor in $(seq 0 15); do
  grep -qx "DeviceAllow=/dev/char/180:$minor rw" "$root/usr/lib/systemd/system/kiosk.service" \
    || fail "kiosk unit does not allow /dev/usb/lp$minor (180:$minor)"
done
[ "$(grep -c '^DeviceAllow=/dev/char/180:' "$root/usr/lib/systemd/system/kiosk.service")" = 16 ] \
  || fail "kiosk unit allows more of major 180 than the 16 usblp minors"
grep -q 'KERNEL=="lp\[0-9\]\*"' "$root/usr/lib/udev/rules.d/60-kiosk-printer.rules" || fail "udev rule no longer matches usblp nodes"
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

# lintian: no error and no warning, on both packages (overrides, each with
# its reason, ship in /usr/share/lintian/overrides/). Any new tag of those
# levels fails the check; the full output is printed for the record.
echo "== lintian"
lintian_out=$(lintian --display-info --fail-on none \
  "$CARGO_TARGET_DIR/debian/kiosk_${version}-1_arm64.deb" \
  "$CARGO_TARGET_DIR/debian/display-daemon_${version}-1_arm64.deb" 2>&1) || fail "lintian did not run: $lintian_out"
echo "${lintian_out:-(lintian: no tags)}"
if grep -E '^[EW]: ' <<<"$lintian_out"; then
  fail "lintian reports the errors or warnings above"
fi

upgrade_check
echo "deb check: ok"
