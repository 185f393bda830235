#!/usr/bin/env bash
# Builds helm (the chart tests' client) once from the helm.sh/helm/v3 Go module into the cache:
# $SPAWNLET_CACHE/go-tools/helm-<version>/helm. Idempotent: a built binary is reused. Sourced by
# setup.sh (then SPAWNLET_HELM stays exported) or run alone.
set -euo pipefail

SPAWNLET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
source "$SPAWNLET_ROOT/scripts/lib/common.sh"

# v3.19.5 builds against k8s.io/* v0.34, the Kubernetes minor the e2e control plane runs.
HELM_VERSION=v3.19.5
HELM_DIR="$SPAWNLET_CACHE/go-tools/helm-$HELM_VERSION"

build_helm() {
  export SPAWNLET_HELM="$HELM_DIR/helm"
  if [[ -x $SPAWNLET_HELM ]]; then
    log "helm $HELM_VERSION already built in $HELM_DIR"
    return 0
  fi
  local go
  go=$(find_go) ||
    die "Go is needed to build helm $HELM_VERSION (Go >= 1.24): none on PATH or in /usr/local/go"
  log "building helm $HELM_VERSION with $("$go" version) (a few minutes the first time)"
  mkdir -p "$HELM_DIR"
  # The module and build caches are shared with the other Go-built test tools.
  # The Kubernetes version helm assumes offline (`helm template`, `helm lint`) is baked in at link
  # time, as helm's Makefile does: that of its k8s.io modules.
  local k8s_minor=34 ldflags="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" pkg
  for pkg in pkg/lint/rules pkg/chartutil; do
    ldflags+=" -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$k8s_minor"
  done
  (
    export GOMODCACHE="$SPAWNLET_CACHE/go-tools/gomodcache" GOCACHE="$SPAWNLET_CACHE/go-tools/gocache"
    export GOSUMDB=off GOFLAGS="-trimpath" CGO_ENABLED=0 GOBIN="$HELM_DIR/bin.tmp"
    "$go" install -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  )
  # Installed to a temp dir and renamed: an interrupted build never leaves a half binary.
  mv "$HELM_DIR/bin.tmp/helm" "$SPAWNLET_HELM"
  rm -rf "$HELM_DIR/bin.tmp"
  "$SPAWNLET_HELM" version --short
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  stage "helm" build_helm
fi
