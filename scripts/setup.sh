#!/usr/bin/env bash
# Prepares this machine (Debian 12, as root) to build, run and test spawnlet:
#   1. Debian packages: the container runtime stack and the tools the tests drive;
#   2. the JDK (newest >= 21) for the build;
#   3. crictl and critest, built once from the cri-tools Go module into the cache;
#   4. with `kubernetes` (test.sh; `scripts/setup.sh --kubernetes` alone): etcd and the Kubernetes
#      control plane, kubectl and kubelet, built once from their Go modules (scripts/k8s-tools.sh),
#      and helm (scripts/helm-tool.sh).
# Idempotent: every stage checks first and skips what is already there. Sourced by run.sh and
# test.sh (then JAVA_HOME, SPAWNLET_CRICTL and SPAWNLET_CRITEST stay exported), or run alone.
set -euo pipefail

SPAWNLET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
source "$SPAWNLET_ROOT/scripts/lib/common.sh"
# shellcheck source=k8s-tools.sh
source "$SPAWNLET_ROOT/scripts/k8s-tools.sh"
# shellcheck source=helm-tool.sh
source "$SPAWNLET_ROOT/scripts/helm-tool.sh"

CRI_TOOLS_VERSION=v1.34.0
GO_TOOLS_DIR="$SPAWNLET_CACHE/go-tools"
CRI_TOOLS_DIR="$GO_TOOLS_DIR/cri-tools-$CRI_TOOLS_VERSION"

# What spawnlet and its tests use on the host. docker-registry (+ apache2-utils: htpasswd -B for
# its bcrypt-only htpasswd auth), mmdebstrap, systemd-container and
# containerd are for the registry tests, the Debian system image and the side-by-side benchmarks;
# btrfs-progs (mkfs.btrfs) makes the loop file systems of the btrfs storage driver tests.
DEBIAN_PACKAGES=(
  crun runc conmon catatonit containernetworking-plugins skopeo umoci busybox-static jq iproute2 iptables
  curl socat openssl unzip maven
  docker-registry apache2-utils mmdebstrap systemd-container containerd btrfs-progs
)

install_packages() {
  local missing=() installed
  installed=" $(dpkg-query -W -f='${db:Status-Abbrev}${Package} ' "${DEBIAN_PACKAGES[@]}" 2>/dev/null | tr -s ' ' | sed 's/ii \([^ ]*\)/+\1/g' || true) "
  local pkg
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    [[ $installed == *" +$pkg "* ]] || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    log "all ${#DEBIAN_PACKAGES[@]} Debian packages are installed"
    return 0
  fi
  ((EUID == 0)) || die "packages missing (${missing[*]}): run this script as root (sudo $0)"
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # containerd and docker-registry are tools of the tests and benchmarks, which start their own
  # instances: keep their packages from starting host services (exit 101 = "action forbidden").
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    added_policy=1
  fi
  local rc=0
  apt-get install -y -q --no-install-recommends "${missing[@]}" || rc=$?
  ((added_policy == 0)) || rm -f "$policy"
  return "$rc"
}

check_jdk() {
  JAVA_HOME=$(find_jdk_home) || return 1
  export JAVA_HOME
  export PATH="$JAVA_HOME/bin:$PATH"
  log "JDK: $JAVA_HOME ($("$JAVA_HOME/bin/java" -version 2>&1 | head -1))"
}

# The base URL of the first real proxy in `go env GOPROXY` (skipping "direct" and "off").
go_proxy_url() {
  local entry
  for entry in $("$GO" env GOPROXY | tr ',|' '  '); do
    case $entry in direct | off) ;; *)
      echo "${entry%/}"
      return 0
      ;;
    esac
  done
  return 1
}

# The proxy refuses cri-tools' version list (so `go install ...@version` fails), but serves the
# module itself: fetch it with `go mod download` for the exact version, or as a zip from the
# configured proxy, and copy it to a writable source tree.
fetch_cri_tools_source() {
  local src=$1 dir zip
  if dir=$("$GO" mod download -json "sigs.k8s.io/cri-tools@$CRI_TOOLS_VERSION" 2>/dev/null | jq -r '.Dir // empty') &&
    [[ -n $dir && -d $dir ]]; then
    log "cri-tools $CRI_TOOLS_VERSION module: $dir"
  else
    local proxy
    proxy=$(go_proxy_url) || die "no Go module proxy in 'go env GOPROXY' to fetch cri-tools from"
    zip="$CRI_TOOLS_DIR/cri-tools-$CRI_TOOLS_VERSION.zip"
    log "downloading the cri-tools $CRI_TOOLS_VERSION module zip from $proxy"
    curl -fsSL --retry 3 -o "$zip.tmp" "$proxy/sigs.k8s.io/cri-tools/@v/$CRI_TOOLS_VERSION.zip"
    mv "$zip.tmp" "$zip"
    rm -rf "$CRI_TOOLS_DIR/unzip"
    unzip -q "$zip" -d "$CRI_TOOLS_DIR/unzip"
    dir="$CRI_TOOLS_DIR/unzip/sigs.k8s.io/cri-tools@$CRI_TOOLS_VERSION"
  fi
  rm -rf "$src"
  cp -r "$dir" "$src"
  chmod -R u+w "$src"
}

build_cri_tools() {
  GO=$(find_go) || die "Go is needed to build crictl/critest (cri-tools $CRI_TOOLS_VERSION needs Go >= 1.24): none on PATH or in /usr/local/go"
  export SPAWNLET_CRICTL="$CRI_TOOLS_DIR/crictl" SPAWNLET_CRITEST="$CRI_TOOLS_DIR/critest"
  if [[ -x $SPAWNLET_CRICTL && -x $SPAWNLET_CRITEST ]]; then
    log "crictl and critest $CRI_TOOLS_VERSION already built in $CRI_TOOLS_DIR"
    return 0
  fi
  log "building crictl and critest $CRI_TOOLS_VERSION with $("$GO" version)"
  mkdir -p "$CRI_TOOLS_DIR"
  # Module and build caches live in the spawnlet cache, so a rebuild (new version) reuses them.
  export GOMODCACHE="$GO_TOOLS_DIR/gomodcache" GOCACHE="$GO_TOOLS_DIR/gocache"
  export GOSUMDB=off GOFLAGS="-mod=mod -trimpath" CGO_ENABLED=0
  local src="$CRI_TOOLS_DIR/src"
  [[ -f $src/go.mod ]] || fetch_cri_tools_source "$src"
  local ldflags="-X sigs.k8s.io/cri-tools/pkg/version.Version=${CRI_TOOLS_VERSION#v}"
  # Build to temp names and rename: an interrupted build never leaves a half binary behind.
  if [[ ! -x $SPAWNLET_CRICTL ]]; then
    (cd "$src" && "$GO" build -ldflags "$ldflags" -o "$SPAWNLET_CRICTL.tmp" ./cmd/crictl)
    mv "$SPAWNLET_CRICTL.tmp" "$SPAWNLET_CRICTL"
  fi
  if [[ ! -x $SPAWNLET_CRITEST ]]; then
    # critest is a Ginkgo suite: cri-tools builds it as a test binary.
    (cd "$src" && "$GO" test -c -ldflags "$ldflags" -o "$SPAWNLET_CRITEST.tmp" ./cmd/critest)
    mv "$SPAWNLET_CRITEST.tmp" "$SPAWNLET_CRITEST"
  fi
  "$SPAWNLET_CRICTL" --version
}

setup_main() {
  stage "debian packages" install_packages
  stage "jdk" check_jdk
  mkdir -p "$SPAWNLET_CACHE"
  # One setup at a time per cache (parallel engineers, CI): the second waits for the first.
  exec {SETUP_LOCK}>"$SPAWNLET_CACHE/.setup.lock"
  flock "$SETUP_LOCK"
  stage "crictl + critest" build_cri_tools
  flock -u "$SETUP_LOCK"
  [[ ${1:-} != kubernetes ]] || stage "kubernetes tools" k8s_tools_main
  [[ ${1:-} != kubernetes ]] || stage "helm" build_helm
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  start=$(now_us)
  if [[ ${1:-} == --kubernetes ]]; then setup_main kubernetes; else setup_main; fi
  stage_summary
  log "setup done in $(fmt_secs $(($(now_us) - start))): JAVA_HOME=$JAVA_HOME crictl=$SPAWNLET_CRICTL"
fi
