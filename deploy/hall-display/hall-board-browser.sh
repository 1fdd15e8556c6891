#!/bin/bash
# Opens the hall board page full screen in Chromium's kiosk mode, once the
# display daemon serves it. Started by the desktop autostart entry
# (hall-board.desktop) or by cage on Raspberry Pi OS Lite
# (hall-board-cage.service). Installed in /usr/share/display-daemon/hall-display/.
#
# The page address is the `listen` of /etc/display-daemon/display.toml
# (default 127.0.0.1:8090); set HALL_BOARD_URL to override it.
set -u

config=/etc/display-daemon/display.toml
listen=$(sed -n 's/^[[:space:]]*listen[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$config" 2>/dev/null | head -n1)
listen=${listen:-127.0.0.1:8090}
listen=${listen/0.0.0.0/127.0.0.1}
url=${HALL_BOARD_URL:-http://$listen/}
host=${listen%:*}
port=${listen##*:}

# Keep the screen awake on an X11 desktop (Wayland: raspi-config
# nonint do_blanking 1, done by setup-hall-display.sh; cage never blanks).
if [ -n "${DISPLAY:-}" ] && command -v xset >/dev/null; then
    xset s off; xset s noblank; xset -dpms
fi

# Wait (at most 120 s) for the display daemon to serve the page; the unit
# starts at boot but the desktop may come up first. Opening the browser
# anyway after that shows Chromium's error page, which reloads below.
for _ in $(seq 120); do
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
        break
    fi
    sleep 1
done

browser=$(command -v chromium-browser || command -v chromium)
if [ -z "$browser" ]; then
    echo "hall-board-browser: install Chromium: sudo apt install chromium-browser (or chromium)" >&2
    exit 1
fi

# Each run starts from a clean profile: no "restore pages?" bubble after a
# power cut, no translation bar, no first-run page.
profile=$(mktemp -d -t hall-board-chromium.XXXXXX)
trap 'rm -rf "$profile"' EXIT

# Chromium is restarted if it ever exits (crash, out of memory).
while true; do
    "$browser" \
        --kiosk --noerrdialogs --disable-infobars --incognito \
        --no-first-run --disable-session-crashed-bubble \
        --disable-features=Translate,TranslateUI \
        --check-for-update-interval=31536000 \
        --ozone-platform-hint=auto \
        --user-data-dir="$profile" \
        "$url"
    sleep 2
done
