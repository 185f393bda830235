#!/usr/bin/env bash
# Builds the example system-container image: Debian bookworm with systemd as PID 1, journald,
# dbus, sshd and a small HTTP service (nginx-light on port 80), as an OCI image layout.
#
#   examples/debian-systemd/build.sh LAYOUT_DIR [MIRROR]
#
# LAYOUT_DIR must not exist; the image is tagged "latest" in it. MIRROR defaults to the first
# Debian mirror apt is configured with on this machine (/etc/apt/sources.list*), else
# deb.debian.org. Import it with:
#   ./spawnlet image import LAYOUT_DIR:latest --name docker.io/spawnlet/debian-systemd:bookworm
#
# The image config says Cmd ["/sbin/init"] and StopSignal SIGRTMIN+3 (systemd's clean
# poweroff). What is per container — env container=spawnlet, /etc/machine-id, hostname,
# /etc/hosts, /etc/resolv.conf, tmpfs /run and /tmp — is the runtime's job, not the image's.
set -euo pipefail

layout=${1:?usage: build.sh LAYOUT_DIR [MIRROR]}
[[ ! -e $layout ]] || { echo "build.sh: $layout exists: remove it or choose another path" >&2; exit 1; }
for tool in mmdebstrap umoci; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool is missing: apt-get install $tool" >&2; exit 1; }
done

configured_mirror() {
  local uri
  uri=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
    /etc/apt/sources.list.d/*.list | grep -v security | head -1 |
    sed -E 's/^URIs:[[:space:]]*//; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//; s/[[:space:]].*//')
  echo "${uri:-http://deb.debian.org/debian}"
}
mirror=${2:-$(configured_mirror)}
security=${mirror%/debian}/debian-security

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/debian-systemd.XXXXXX")
trap 'rm -rf "$work"' EXIT

umoci init --layout "$layout"
umoci new --image "$layout:latest"
umoci unpack --image "$layout:latest" "$work/bundle"
rootfs=$work/bundle/rootfs

# The sshd host key is generated at first boot (a drop-in): one image, many machines, each with
# its own key. Only ed25519: generating RSA keys (ssh-keygen -A) would add ~2 s to every first
# boot. /etc/machine-id is left empty: the runtime writes a per-pod id into each container.
# /etc/hostname is removed: systemd takes the hostname the runtime set in the UTS namespace.
mmdebstrap --variant=minbase --mode=root --format=directory \
  --include=systemd,systemd-sysv,dbus,iproute2,procps,openssh-server,nginx-light,curl,ca-certificates \
  --customize-hook="upload $here/nginx-default.conf /etc/nginx/sites-available/default" \
  --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*_key* "$1/etc/hostname"; : > "$1/etc/machine-id"' \
  --customize-hook='mkdir -p "$1/etc/systemd/system/ssh.service.d" && printf "[Service]\nExecStartPre=\nExecStartPre=/bin/sh -c \"test -e /etc/ssh/ssh_host_ed25519_key || ssh-keygen -q -t ed25519 -N \x27\x27 -f /etc/ssh/ssh_host_ed25519_key\"\nExecStartPre=/usr/sbin/sshd -t\n" > "$1/etc/systemd/system/ssh.service.d/host-keys.conf"' \
  --customize-hook='echo "HostKey /etc/ssh/ssh_host_ed25519_key" > "$1/etc/ssh/sshd_config.d/host-key.conf"' \
  --customize-hook="sync-in $here/units /etc/systemd/system" \
  --customize-hook='chroot "$1" systemctl enable ssh.service nginx.service http.socket hello.socket' \
  --customize-hook='chroot "$1" systemctl mask console-getty.service getty@tty1.service getty-static.service systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer e2scrub_reap.service systemd-firstboot.service' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
  bookworm "$rootfs" "deb $mirror bookworm main" "deb $security bookworm-security main"

umoci repack --image "$layout:latest" "$work/bundle"
umoci config --image "$layout:latest" --os linux --architecture amd64 \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.workingdir / --config.cmd /sbin/init --config.stopsignal SIGRTMIN+3 \
  --config.exposedports 80/tcp --config.exposedports 7777/tcp --config.exposedports 22/tcp
umoci gc --layout "$layout"
chmod -R a+rX "$layout"
echo "debian-systemd: $(du -sh "$layout" | cut -f1) in $layout" >&2
