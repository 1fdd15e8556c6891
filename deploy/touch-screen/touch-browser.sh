#!/bin/bash
# Opens the kiosk's touch page (/touch) full screen in Chromium's kiosk mode
# on the ticket machine's own touch display, once the kiosk serves it.
# Started by cage on Raspberry Pi OS Lite (touch-screen-cage.service) or by
# a desktop autostart entry. See docs/touch.md.
#
# The page is asked for on loopback, which the kiosk lets in without a
# token while `[kiosk.touch] loopback = true`. The port is the one of
# `listen` in /etc/kiosk/center.toml (default 8080); set TOUCH_URL to
# override (a touch screen on another machine adds ?token=… of a `touch`
# device token: `kiosk token add cua-vao --role touch`).
set -u

config=/etc/kiosk/center.toml
listen=$(sed -n 's/^[[:space:]]*listen[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$config" 2>/dev/null | head -n1)
port=${listen##*:}
port=${port:-8080}
url=${TOUCH_URL:-http://127.0.0.1:$port/touch}

if [ -n "${DISPLAY:-}" ] && command -v xset >/dev/null; then
    xset s off; xset s noblank; xset -dpms
fi

# Wait (at most 120 s) for the kiosk to listen.
for _ in $(seq 120); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        break
    fi
    sleep 1
done

browser=$(command -v chromium-browser || command -v chromium)
if [ -z "$browser" ]; then
    echo "touch-browser: install Chromium: sudo apt install chromium-browser (or chromium)" >&2
    exit 1
fi

profile=$(mktemp -d -t touch-chromium.XXXXXX)
trap 'rm -rf "$profile"' EXIT

# Touch: no pinch zoom, no swipe-back navigation, no on-screen keyboard
# (the QR scanner is the only keyboard). Restarted if it ever exits.
while true; do
    "$browser" \
        --kiosk --noerrdialogs --disable-infobars --incognito \
        --no-first-run --disable-session-crashed-bubble \
        --touch-events=enabled --disable-pinch \
        --overscroll-history-navigation=0 \
        --disable-features=Translate,TranslateUI,TouchpadOverscrollHistoryNavigation \
        --check-for-update-interval=31536000 \
        --ozone-platform-hint=auto \
        --user-data-dir="$profile" \
        "$url"
    sleep 2
done
