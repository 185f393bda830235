#!/usr/bin/env bash
# Builds the Kubernetes control plane the node agent is tested against, from the Go module proxy,
# into the spawnlet cache:
#   etcd                                    -> $SPAWNLET_CACHE/go-tools/etcd-$ETCD_VERSION/etcd
#   kube-apiserver, kube-controller-manager,
#   kube-scheduler, kubectl, kubelet        -> $SPAWNLET_CACHE/go-tools/kubernetes-$KUBERNETES_VERSION/
# Idempotent: a finished build leaves a stamp naming its versions, and a rerun with the same
# versions only checks the stamp. Sourced by setup.sh (`setup_main kubernetes` runs
# k8s_tools_main, then SPAWNLET_K8S_TOOLS and SPAWNLET_ETCD stay exported) and by
# control-plane.sh (for the paths only), or run alone. Needs Go >= 1.26 (etcd 3.6.16's go.mod asks for it).
set -euo pipefail

SPAWNLET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
source "$SPAWNLET_ROOT/scripts/lib/common.sh"

ETCD_VERSION=v3.6.16
KUBERNETES_VERSION=v1.34.4
# k8s.io/kubernetes keeps its libraries in staging/ and replaces them by path, which a module
# outside its repository cannot follow; each is published as its own module at v0.<minor>.<patch>.
KUBERNETES_STAGING_VERSION=v0.${KUBERNETES_VERSION#v1.}
# From k8s.io/kubernetes v1.34.4's go.mod: every `k8s.io/X => ./staging/src/k8s.io/X`.
KUBERNETES_STAGING_MODULES=(
  api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
  cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
  cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms
  kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
  mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller
)
# Built in this order; the kubelet (only for the helm test's ordinary node) comes last so the
# control plane is usable as early as possible.
KUBERNETES_COMMANDS=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet)

GO_TOOLS_DIR="$SPAWNLET_CACHE/go-tools"
ETCD_DIR="$GO_TOOLS_DIR/etcd-$ETCD_VERSION"
KUBERNETES_DIR="$GO_TOOLS_DIR/kubernetes-$KUBERNETES_VERSION"

# Go's environment for every build here: module and build caches shared with setup.sh's
# cri-tools build, static binaries, no paths of this machine inside them, and the local toolchain
# (never a download of another one).
k8s_tools_go_env() {
  GO=$(find_go) ||
    die "Go is needed to build etcd and Kubernetes (Go >= 1.26): none on PATH or in /usr/local/go"
  export GOMODCACHE="$GO_TOOLS_DIR/gomodcache" GOCACHE="$GO_TOOLS_DIR/gocache"
  export GOFLAGS="-mod=mod -trimpath" CGO_ENABLED=0 GOTOOLCHAIN=local
  # Only the module proxy is reachable from some machines: without the checksum database the
  # build still works (the proxy's content is what it is either way), so check once and say so.
  if [[ -z ${GOSUMDB_CHECKED:-} ]]; then
    GOSUMDB_CHECKED=1
    local sumdb
    sumdb=$("$GO" env GOSUMDB)
    if [[ $sumdb == off ]] || ! curl -fsS --max-time 5 -o /dev/null "https://${sumdb%%+*}/latest" 2>/dev/null; then
      log "checksum database ${sumdb} unreachable: building with GOSUMDB=off"
      export GOSUMDB=off
    fi
  fi
}

# Runs `go build -v` with its package list in LOG, printing every minute how many packages it has
# compiled so far (a cold Kubernetes build is thousands of packages and many minutes).
go_build_with_progress() {
  local what=$1 log_file=$2
  shift 2
  local started
  started=$(now_us)
  : >"$log_file"
  "$GO" build -v "$@" >>"$log_file" 2>&1 &
  local build=$!
  while kill -0 "$build" 2>/dev/null; do
    local waited=0
    while ((waited < 60)) && kill -0 "$build" 2>/dev/null; do
      sleep 1
      waited=$((waited + 1))
    done
    kill -0 "$build" 2>/dev/null || break
    log "  $what: $(grep -vc "^go: " "$log_file" || true) packages compiled ($(fmt_secs $(($(now_us) - started))))"
  done
  if ! wait "$build"; then
    tail -n 40 "$log_file" >&2
    die "$what: go build failed (whole output: $log_file)"
  fi
  log "  $what: built in $(fmt_secs $(($(now_us) - started)))"
}

# A throwaway module that requires MODULE@VERSION, so that `go build MODULE/...` builds its
# commands with exactly the dependency versions its go.mod pins. GO_LINE: the go directive.
write_build_module() {
  local dir=$1 name=$2 go_line=$3
  mkdir -p "$dir"
  printf 'module %s\n\ngo %s\n' "$name" "$go_line" >"$dir/go.mod.tmp"
}

build_etcd() {
  export SPAWNLET_ETCD="$ETCD_DIR/etcd"
  local stamp="$ETCD_DIR/.built-$ETCD_VERSION"
  if [[ -f $stamp && -x $SPAWNLET_ETCD ]]; then
    log "etcd $ETCD_VERSION already built: $SPAWNLET_ETCD"
    return 0
  fi
  mkdir -p "$ETCD_DIR"
  k8s_tools_go_env
  log "building etcd $ETCD_VERSION with $("$GO" version)"
  local mod="$ETCD_DIR/build"
  write_build_module "$mod" spawnlet.local/etcd-build 1.26.0
  printf '\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >>"$mod/go.mod.tmp"
  mv "$mod/go.mod.tmp" "$mod/go.mod"
  # The etcd command is the server module's root package (a thin main around etcdmain).
  (cd "$mod" && go_build_with_progress "etcd" "$ETCD_DIR/build.log" \
    -ldflags "-s -w" -o "$SPAWNLET_ETCD.tmp" go.etcd.io/etcd/server/v3)
  mv "$SPAWNLET_ETCD.tmp" "$SPAWNLET_ETCD"
  log "$("$SPAWNLET_ETCD" --version | sed -n 1p)"
  touch "$stamp"
}

# -X flags that give the binaries their real version (kubectl version, the apiserver's /version
# and the kubelet's node status report it; otherwise they say v0.0.0-master).
kubernetes_ldflags() {
  local minor=${KUBERNETES_VERSION#v1.}
  minor=${minor%%.*}
  local pkg flags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

# Builds k8s.io/kubernetes/cmd/NAME for each NAME into a temp dir, then moves them into place:
# an interrupted build never leaves a half binary behind.
build_kubernetes_commands() {
  local mod=$1 ldflags=$2 group=$3
  shift 3
  local out="$KUBERNETES_DIR/tmp-$group" pkgs=() cmd
  rm -rf "$out"
  mkdir -p "$out"
  for cmd in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$cmd"); done
  (cd "$mod" && go_build_with_progress "$*" "$KUBERNETES_DIR/build-$group.log" \
    -ldflags "$ldflags" -o "$out/" "${pkgs[@]}")
  for cmd in "$@"; do mv "$out/$cmd" "$KUBERNETES_DIR/$cmd"; done
  rmdir "$out"
}

build_kubernetes() {
  export SPAWNLET_K8S_TOOLS="$KUBERNETES_DIR"
  local stamp="$KUBERNETES_DIR/.built-$KUBERNETES_VERSION" cmd missing=()
  for cmd in "${KUBERNETES_COMMANDS[@]}"; do
    [[ -x $KUBERNETES_DIR/$cmd ]] || missing+=("$cmd")
  done
  if [[ -f $stamp ]] && ((${#missing[@]} == 0)); then
    log "Kubernetes $KUBERNETES_VERSION already built: $KUBERNETES_DIR"
    return 0
  fi
  mkdir -p "$KUBERNETES_DIR"
  k8s_tools_go_env
  log "building Kubernetes $KUBERNETES_VERSION (${missing[*]}) with $("$GO" version)"
  local mod="$KUBERNETES_DIR/build" module
  # Same go and godebug lines as k8s.io/kubernetes itself: the main module's lines decide the
  # runtime's GODEBUG defaults.
  write_build_module "$mod" spawnlet.local/kubernetes-build 1.24.0
  {
    printf '\ngodebug default=go1.24\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$KUBERNETES_VERSION"
    for module in "${KUBERNETES_STAGING_MODULES[@]}"; do
      printf '\tk8s.io/%s => k8s.io/%s %s\n' "$module" "$module" "$KUBERNETES_STAGING_VERSION"
    done
    printf ')\n'
  } >>"$mod/go.mod.tmp"
  mv "$mod/go.mod.tmp" "$mod/go.mod"
  local ldflags
  ldflags=$(kubernetes_ldflags)
  # The control plane first, in one go build (they share most packages), then the kubelet.
  local control_plane=() node=()
  for cmd in "${missing[@]}"; do
    if [[ $cmd == kubelet ]]; then node+=("$cmd"); else control_plane+=("$cmd"); fi
  done
  ((${#control_plane[@]} == 0)) || build_kubernetes_commands "$mod" "$ldflags" control-plane "${control_plane[@]}"
  ((${#node[@]} == 0)) || build_kubernetes_commands "$mod" "$ldflags" node "${node[@]}"
  "$KUBERNETES_DIR/kubectl" version --client >&2
  touch "$stamp"
}

# Both builds, one at a time per cache (parallel engineers, CI): a second caller waits for the
# first, then finds its stamps.
k8s_tools_main() {
  mkdir -p "$SPAWNLET_CACHE"
  local lock
  exec {lock}>"$SPAWNLET_CACHE/.k8s-tools.lock"
  flock "$lock"
  build_etcd
  build_kubernetes
  flock -u "$lock"
  exec {lock}>&-
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  stage "kubernetes tools" k8s_tools_main
  stage_summary
  log "kubernetes tools: etcd=$SPAWNLET_ETCD kubernetes=$SPAWNLET_K8S_TOOLS"
fi
