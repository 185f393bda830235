#!/usr/bin/env bash
# Builds the base of spawnlet's node image: Debian bookworm with the container runtime stack
# spawnlet drives on a node (crun, runc, conmon, catatonit, the CNI plugins, iptables, iproute2) and a
# Java runtime made with jlink from the build's JDK. Jib puts the application on top of it
# (dist/pom.xml, profile `image`). Written as a docker-archive tarball, the base format Jib reads
# without a Docker engine (`tar://`).
#
#   dist/image/build-base.sh OUT.tar JAVA_HOME [MIRROR]
#
# MIRROR defaults to the first Debian mirror apt is configured with on this machine.
set -euo pipefail

out=${1:?usage: build-base.sh OUT.tar JAVA_HOME [MIRROR]}
java_home=${2:?usage: build-base.sh OUT.tar JAVA_HOME [MIRROR]}
[[ ! -e $out ]] || { echo "build-base.sh: $out exists: remove it or choose another path" >&2; exit 1; }
[[ -x $java_home/bin/jlink ]] || { echo "build-base.sh: $java_home/bin/jlink is missing: give a JDK (not a JRE) >= 21" >&2; exit 1; }
for tool in mmdebstrap umoci skopeo; do
  command -v "$tool" >/dev/null || { echo "build-base.sh: $tool is missing: apt-get install $tool" >&2; exit 1; }
done

configured_mirror() {
  local uri
  uri=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
    /etc/apt/sources.list.d/*.list | grep -v security | head -1 |
    sed -E 's/^URIs:[[:space:]]*//; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//; s/[[:space:]].*//')
  echo "${uri:-http://deb.debian.org/debian}"
}
mirror=${3:-$(configured_mirror)}
security=${mirror%/debian}/debian-security

work=$(mktemp -d "${TMPDIR:-/tmp}/spawnlet-base.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The Java SE modules plus what netty, protobuf and the TLS client to the apiserver reach for
# outside them (sun.misc.Unsafe, EC keys) and jcmd for thread dumps on a node.
echo "build-base.sh: jlink from $java_home" >&2
"$java_home/bin/jlink" --output "$work/java" --strip-debug --no-header-files --no-man-pages \
  --compress=zip-6 \
  --add-modules java.se,jdk.unsupported,jdk.crypto.ec,jdk.crypto.cryptoki,jdk.zipfs,jdk.naming.dns,jdk.management,jdk.jcmd,jdk.jfr,jdk.httpserver

layout=$work/layout
umoci init --layout "$layout"
umoci new --image "$layout:base"
umoci unpack --image "$layout:base" "$work/bundle"

# Debian puts the CNI plugins in /usr/lib/cni; the node's init step copies them to the host's
# plugin directory when that lacks them (charts/spawnlet, initContainers).
echo "build-base.sh: mmdebstrap bookworm from $mirror" >&2
mmdebstrap --variant=minbase --mode=root --format=directory \
  --include=crun,runc,conmon,catatonit,containernetworking-plugins,iptables,iproute2,util-linux,procps,ca-certificates \
  --customize-hook='mkdir -p "$1/opt/java"' --customize-hook="sync-in $work/java /opt/java" \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/usr/share/doc/* "$1"/usr/share/man/*' \
  bookworm "$work/bundle/rootfs" "deb $mirror bookworm main" "deb $security bookworm-security main"

umoci repack --image "$layout:base" "$work/bundle"
umoci config --image "$layout:base" --os linux --architecture amd64 \
  --config.env PATH=/opt/java/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.env JAVA_HOME=/opt/java --config.workingdir /
umoci gc --layout "$layout"
skopeo copy --quiet "oci:$layout:base" "docker-archive:$out.tmp:spawnlet/base:latest"
mv "$out.tmp" "$out"
echo "build-base.sh: $(du -h "$out" | cut -f1) in $out" >&2
