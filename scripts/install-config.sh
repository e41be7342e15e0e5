#!/bin/sh
# meson install: installs SRC as DEST (an absolute path) unless DEST is
# there already, so a reinstall never overwrites a configuration someone
# has edited. Honours $DESTDIR.
#   scripts/install-config.sh data/camrig.yaml /etc/camrig/camrig.yaml
set -eu
[ $# -eq 2 ] || { echo "usage: $0 SRC DEST" >&2; exit 2; }
src=$MESON_SOURCE_ROOT/$1
dest=${DESTDIR:-}$2
if [ -e "$dest" ]; then
	echo "camrig: keeping $dest (the new default is $src)"
	exit 0
fi
install -D -m 0644 "$src" "$dest"
echo "camrig: installed $dest"
