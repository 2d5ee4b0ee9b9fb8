#!/bin/sh
# Debian packages Pantau's tests need: PostgreSQL server binaries (the private
# cluster), Chromium (wall display tests), GStreamer's RTSP server (a real camera),
# tmux (driving the console as an operator would).
set -eu
PKGS="postgresql-15 chromium gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-ugly
gstreamer1.0-plugins-good gstreamer1.0-plugins-base gstreamer1.0-rtsp gstreamer1.0-tools tmux
fonts-dejavu-core"
missing=""
for p in $PKGS; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
