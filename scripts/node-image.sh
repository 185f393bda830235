#!/usr/bin/env bash
# Builds spawnlet's node image (what the Helm chart's DaemonSet runs) as an OCI tarball, without
# a Docker engine, and optionally pushes it to a registry:
#
#   scripts/node-image.sh [--push REGISTRY/REPOSITORY:TAG] [--insecure]
#
# 1. the base (dist/image/build-base.sh: Debian + crun, runc, conmon, CNI plugins + a jlinked
#    Java runtime), cached in $SPAWNLET_CACHE/node-image keyed by the recipe and the JDK;
# 2. Jib (dist, profile `image`) puts spawnlet on top: dist/target/spawnlet-image.tar;
# 3. with --push, skopeo copies it to the registry (--insecure: plain HTTP, e.g. a loopback one).
# Builds dist with the modules it needs from this checkout (-am): never from whatever another
# checkout last installed into the shared local Maven repository.
set -euo pipefail

SPAWNLET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
source "$SPAWNLET_ROOT/scripts/lib/common.sh"

push_ref="" insecure=0
while (($#)); do
  case $1 in
    --push) push_ref=${2:?--push needs REGISTRY/REPOSITORY:TAG}; shift 2 ;;
    --insecure) insecure=1; shift ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1': usage: scripts/node-image.sh [--push REGISTRY/REPOSITORY:TAG] [--insecure]" ;;
  esac
done

node_image_base() {
  JAVA_HOME=${JAVA_HOME:-$(find_jdk_home)} || die "no JDK >= $SPAWNLET_MIN_JAVA found"
  local key
  key=$( (cat "$SPAWNLET_ROOT/dist/image/build-base.sh"; "$JAVA_HOME/bin/java" -version 2>&1) | sha256sum | cut -c1-12)
  NODE_IMAGE_BASE="$SPAWNLET_CACHE/node-image/base-$key.tar"
  if [[ -f $NODE_IMAGE_BASE ]]; then
    log "node image base cached: $NODE_IMAGE_BASE"
    return 0
  fi
  mkdir -p "$SPAWNLET_CACHE/node-image"
  # Older bases (another recipe or JDK) are not used again.
  find "$SPAWNLET_CACHE/node-image" -name 'base-*.tar' -delete
  log "building the node image base (Debian + runtime stack + jlinked JDK; 1-3 minutes)"
  "$SPAWNLET_ROOT/dist/image/build-base.sh" "$NODE_IMAGE_BASE" "$JAVA_HOME"
}

node_image_jib() {
  log "jib: spawnlet onto the base -> dist/target/spawnlet-image.tar"
  (cd "$SPAWNLET_ROOT" && mvn -B -q -o -Pimage -pl dist -am package -DskipTests \
    -Dspawnlet.image.base="$NODE_IMAGE_BASE" -Djib.console=plain)
  NODE_IMAGE_TAR="$SPAWNLET_ROOT/dist/target/spawnlet-image.tar"
  [[ -f $NODE_IMAGE_TAR ]] || die "jib wrote no $NODE_IMAGE_TAR: see the Maven output above"
  log "node image: $(du -h "$NODE_IMAGE_TAR" | cut -f1) in $NODE_IMAGE_TAR"
}

node_image_push() {
  local tls=()
  ((insecure)) && tls=(--dest-tls-verify=false)
  log "pushing to $push_ref"
  skopeo copy --quiet "${tls[@]}" "oci-archive:$NODE_IMAGE_TAR" "docker://$push_ref"
}

stage "node image base" node_image_base
stage "node image (jib)" node_image_jib
[[ -z $push_ref ]] || stage "node image push" node_image_push
