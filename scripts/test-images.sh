#!/usr/bin/env bash
# Builds the images the tests and the demo use, once, into the cache:
#   $SPAWNLET_CACHE/test-images/$TEST_IMAGES_VERSION/<name>   (OCI image layouts, tag "latest")
# Bump TEST_IMAGES_VERSION when an image's recipe changes: the next run builds a fresh set.
# Sourced by run.sh and test.sh (SPAWNLET_TEST_IMAGES stays exported) or run alone; prints the
# directory on stdout when run alone.
set -euo pipefail

SPAWNLET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
source "$SPAWNLET_ROOT/scripts/lib/common.sh"

TEST_IMAGES_VERSION=v2
export SPAWNLET_TEST_IMAGES="$SPAWNLET_CACHE/test-images/$TEST_IMAGES_VERSION"

# The images, in build order. Each has a build_image_<name> function below that fills an OCI
# layout directory given as $1; an image already in the cache is not rebuilt.
TEST_IMAGES=(busybox debian-systemd)

# busybox: Debian's static busybox with its applet links, root and nobody, Cmd ["sh"].
# (A subshell, so that its EXIT trap removes the scratch bundle whatever happens.)
build_image_busybox() (
  local layout=$1 work
  work=$(mktemp -d "$SPAWNLET_TEST_IMAGES.busybox.XXXXXX")
  # shellcheck disable=SC2064 # expand now: $work is local
  trap "rm -rf '$work'" EXIT
  [[ -x /bin/busybox ]] || die "/bin/busybox is missing: install busybox-static (scripts/setup.sh does)"
  umoci init --layout "$layout"
  umoci new --image "$layout:latest"
  umoci unpack --image "$layout:latest" "$work/bundle"
  local rootfs="$work/bundle/rootfs"
  mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,proc,sys,dev,var/tmp}
  chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
  chmod 0700 "$rootfs/root"
  cp /bin/busybox "$rootfs/bin/busybox"
  chroot "$rootfs" /bin/busybox --install -s
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' \
    >"$rootfs/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"$rootfs/etc/group"
  umoci repack --image "$layout:latest" "$work/bundle"
  umoci config --image "$layout:latest" --os linux --architecture amd64 \
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --config.workingdir / --config.cmd sh
  umoci gc --layout "$layout"
  chmod -R a+rX "$layout"
  log "busybox: $(find "$rootfs" -type l | wc -l) applet links, $(du -sh "$layout" | cut -f1)"
)

# debian-systemd: the system-container example (examples/debian-systemd): Debian bookworm
# minbase with systemd as /sbin/init, journald, dbus, sshd and nginx-light; Cmd ["/sbin/init"],
# StopSignal SIGRTMIN+3. mmdebstrap from the mirror apt uses here (~2 min cold, 84 MB).
build_image_debian-systemd() {
  command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: apt-get install mmdebstrap (scripts/setup.sh does)"
  "$SPAWNLET_ROOT/examples/debian-systemd/build.sh" "$1"
}

build_test_images() {
  mkdir -p "$SPAWNLET_TEST_IMAGES"
  local name layout
  for name in "${TEST_IMAGES[@]}"; do
    layout="$SPAWNLET_TEST_IMAGES/$name"
    if [[ -f $layout/index.json ]]; then
      log "$name: already built in $layout"
      continue
    fi
    # Build beside the final path and rename: a half-built image is never taken for a built one.
    rm -rf "$layout.tmp"
    "build_image_$name" "$layout.tmp"
    mv "$layout.tmp" "$layout"
    log "$name: built in $layout"
  done
}

test_images_main() {
  mkdir -p "$SPAWNLET_CACHE"
  exec {IMAGES_LOCK}>"$SPAWNLET_CACHE/.test-images.lock"
  flock "$IMAGES_LOCK"
  stage "test images ($TEST_IMAGES_VERSION)" build_test_images
  flock -u "$IMAGES_LOCK"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  test_images_main
  echo "$SPAWNLET_TEST_IMAGES"
fi
