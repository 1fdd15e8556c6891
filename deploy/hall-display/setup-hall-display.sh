#!/bin/bash
# Makes this Pi boot straight into the hall board, full screen, screen kept
# awake. Run once as root after installing the display-daemon package and
# configuring /etc/display-daemon/display.toml:
#
#     sudo /usr/share/display-daemon/hall-display/setup-hall-display.sh desktop pi
#         Raspberry Pi OS with desktop: auto-login of user `pi` to the
#         desktop, hall board browser in its autostart.
#     sudo /usr/share/display-daemon/hall-display/setup-hall-display.sh lite
#         Raspberry Pi OS Lite: no desktop; Chromium under cage on tty1 as
#         the user `hall`.
#
# Both enable display-daemon.service, which the browser waits for.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mode=${1:-}

die() { echo "setup-hall-display: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run it with sudo"

keep_screen_awake() {
    if command -v raspi-config >/dev/null; then
        # 1 = blanking disabled (raspi-config's own convention: 0 enables it).
        raspi-config nonint do_blanking 1 || echo "setup-hall-display: raspi-config could not disable blanking; see the guide" >&2
    fi
    # Text console blanking (Lite, or before the desktop starts).
    local cmdline=/boot/firmware/cmdline.txt
    [ -f "$cmdline" ] || cmdline=/boot/cmdline.txt
    if [ -f "$cmdline" ] && ! grep -q 'consoleblank=0' "$cmdline"; then
        sed -i '1 s/$/ consoleblank=0/' "$cmdline"
    fi
}

case "$mode" in
desktop)
    user=${2:-}
    [ -n "$user" ] || die "give the desktop user: setup-hall-display.sh desktop pi"
    home=$(getent passwd "$user" | cut -d: -f6)
    [ -n "$home" ] || die "no user $user"
    command -v chromium-browser >/dev/null || command -v chromium >/dev/null \
        || apt-get install -y chromium-browser || apt-get install -y chromium
    install -d -o "$user" -g "$user" "$home/.config" "$home/.config/autostart"
    install -o "$user" -g "$user" -m 0644 "$here/hall-board.desktop" "$home/.config/autostart/hall-board.desktop"
    if command -v raspi-config >/dev/null; then
        raspi-config nonint do_boot_behaviour B4   # desktop, logged in automatically
    fi
    keep_screen_awake
    ;;
lite)
    apt-get install -y --no-install-recommends cage
    command -v chromium-browser >/dev/null || command -v chromium >/dev/null \
        || apt-get install -y --no-install-recommends chromium-browser \
        || apt-get install -y --no-install-recommends chromium
    if ! getent passwd hall >/dev/null; then
        useradd --create-home --shell /usr/sbin/nologin --comment "Hall board browser" hall
    fi
    for group in video render input; do
        getent group "$group" >/dev/null && usermod --append --groups "$group" hall
    done
    install -m 0644 "$here/hall-board-cage.service" /etc/systemd/system/hall-board.service
    systemctl daemon-reload
    systemctl set-default graphical.target
    systemctl enable hall-board.service
    keep_screen_awake
    ;;
*)
    die "usage: setup-hall-display.sh desktop USER | lite"
    ;;
esac

systemctl enable display-daemon.service
echo "setup-hall-display: done; reboot to see the hall board (sudo reboot)."
