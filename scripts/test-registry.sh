#!/usr/bin/env bash
# A real registry on loopback for the tests (Debian's docker-registry, distribution 2.8):
#   scripts/test-registry.sh populate        build the registry's storage once, cached under
#                                            $SPAWNLET_CACHE/test-registry/$TEST_REGISTRY_VERSION
#   scripts/test-registry.sh start [--auth]  start a registry over that storage on 127.0.0.1:<free
#                                            port> (idempotent; prints host:port); --auth adds
#                                            htpasswd auth (user "spawnlet", password "test-pass")
#   scripts/test-registry.sh stop [--auth]   stop it (pid file)
# Sourced by test.sh: then SPAWNLET_TEST_REGISTRY_STORAGE is exported (the tests start their own
# registries over a copy of it, so they can count requests and corrupt blobs).
#
# Repositories (each pushed with skopeo from OCI layouts made here):
#   busybox:latest                                   the busybox test image (gzip layer)
#   busybox-zstd:latest                              same, zstd-compressed layer
#   multiarch:latest                                 an OCI index: linux/amd64 + linux/arm64
#   arm64-only:latest                                an OCI index with only linux/arm64
#   critest's images under the names critest pulls with -registry-prefix 127.0.0.1:PORT (see
#   push_critest_images)
set -euo pipefail

SPAWNLET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
source "$SPAWNLET_ROOT/scripts/lib/common.sh"
# shellcheck source=test-images.sh
source "$SPAWNLET_ROOT/scripts/test-images.sh"

TEST_REGISTRY_VERSION=v5 # bump when an image here changes: the storage is cached by it
TEST_REGISTRY_USER=spawnlet
TEST_REGISTRY_PASSWORD=test-pass
export SPAWNLET_TEST_REGISTRY_STORAGE="$SPAWNLET_CACHE/test-registry/$TEST_REGISTRY_VERSION/storage"
REGISTRY_RUN_DIR="${SPAWNLET_REGISTRY_RUN_DIR:-/run/spawnlet-test-registry}"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# write_registry_config DIR PORT STORAGE [HTPASSWD]
write_registry_config() {
  local dir=$1 port=$2 storage=$3 htpasswd=${4:-}
  {
    echo "version: 0.1"
    echo "log: {level: info, formatter: text, accesslog: {disabled: false}}"
    echo "storage: {filesystem: {rootdirectory: $storage}, delete: {enabled: true}, cache: {}}"
    echo "http: {addr: 127.0.0.1:$port, secret: spawnlet-test}"
    if [[ -n $htpasswd ]]; then
      echo "auth: {htpasswd: {realm: spawnlet-test, path: $htpasswd}}"
    fi
  } >"$dir/config.yml"
}

wait_for_registry() {
  local port=$1 pid=$2 i
  for ((i = 0; i < 100; i++)); do
    if curl -s -o /dev/null "http://127.0.0.1:$port/v2/"; then return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# An OCI layout holding an index (tag "latest") of the busybox image for linux/amd64 and a
# linux/arm64 twin that shares its layer ($2 = "both" or "arm64").
build_index_layout() {
  local layout=$1 platforms=$2 src="$SPAWNLET_TEST_IMAGES/busybox"
  rm -rf "$layout" && mkdir -p "$layout/blobs/sha256"
  cp "$src/oci-layout" "$layout/"
  cp "$src"/blobs/sha256/* "$layout/blobs/sha256/"
  local amd_manifest_digest amd_manifest config_digest arm_config arm_config_digest arm_manifest
  amd_manifest_digest=$(jq -r '.manifests[0].digest' "$src/index.json")
  amd_manifest="$src/blobs/sha256/${amd_manifest_digest#sha256:}"
  config_digest=$(jq -r '.config.digest' "$amd_manifest")
  arm_config=$(jq -c '.architecture = "arm64"' "$src/blobs/sha256/${config_digest#sha256:}")
  arm_config_digest=$(printf '%s' "$arm_config" | sha256sum | cut -d' ' -f1)
  printf '%s' "$arm_config" >"$layout/blobs/sha256/$arm_config_digest"
  arm_manifest=$(jq -c --arg d "sha256:$arm_config_digest" --argjson s "${#arm_config}" \
    '.config.digest = $d | .config.size = $s' "$amd_manifest")
  local arm_manifest_digest
  arm_manifest_digest=$(printf '%s' "$arm_manifest" | sha256sum | cut -d' ' -f1)
  printf '%s' "$arm_manifest" >"$layout/blobs/sha256/$arm_manifest_digest"
  local entries
  entries=$(jq -nc --arg d "sha256:$arm_manifest_digest" --argjson s "${#arm_manifest}" \
    '[{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s,
       platform: {os: "linux", architecture: "arm64"}}]')
  if [[ $platforms == both ]]; then
    entries=$(jq -c --arg d "$amd_manifest_digest" --argjson s "$(stat -c %s "$amd_manifest")" \
      '[{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s,
         platform: {os: "linux", architecture: "amd64"}}] + .' <<<"$entries")
  fi
  local index index_digest
  index=$(jq -nc --argjson m "$entries" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: $m}')
  index_digest=$(printf '%s' "$index" | sha256sum | cut -d' ' -f1)
  printf '%s' "$index" >"$layout/blobs/sha256/$index_digest"
  jq -n --arg d "sha256:$index_digest" --argjson s "${#index}" \
    '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.index.v1+json",
      digest: $d, size: $s, annotations: {"org.opencontainers.image.ref.name": "latest"}}]}' \
    >"$layout/index.json"
}

# A variant of the busybox layout whose config is changed by the jq filter $2 (user, labels...).
build_config_variant() {
  local layout=$1 filter=$2 src="$SPAWNLET_TEST_IMAGES/busybox"
  rm -rf "$layout" && mkdir -p "$layout/blobs/sha256"
  cp "$src/oci-layout" "$layout/"
  cp "$src"/blobs/sha256/* "$layout/blobs/sha256/"
  local manifest_digest manifest config_digest config config_digest2 new_manifest new_digest
  manifest_digest=$(jq -r '.manifests[0].digest' "$src/index.json")
  manifest="$src/blobs/sha256/${manifest_digest#sha256:}"
  config_digest=$(jq -r '.config.digest' "$manifest")
  config=$(jq -c "$filter" "$src/blobs/sha256/${config_digest#sha256:}")
  config_digest2=$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)
  printf '%s' "$config" >"$layout/blobs/sha256/$config_digest2"
  new_manifest=$(jq -c --arg d "sha256:$config_digest2" --argjson s "${#config}" \
    '.config.digest = $d | .config.size = $s' "$manifest")
  new_digest=$(printf '%s' "$new_manifest" | sha256sum | cut -d' ' -f1)
  printf '%s' "$new_manifest" >"$layout/blobs/sha256/$new_digest"
  jq -n --arg d "sha256:$new_digest" --argjson s "${#new_manifest}" \
    '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: $d, size: $s, annotations: {"org.opencontainers.image.ref.name": "latest"}}]}' \
    >"$layout/index.json"
}

# build_layer_variant LAYOUT ROOTFS_DIR [umoci config options...]: the busybox image plus one layer
# holding ROOTFS_DIR's tree (modes kept: setuid too), its config changed by the options. Unpack and
# repack, not `umoci insert`: this umoci's insert layers end without the tar end-of-archive blocks.
build_layer_variant() (
  local layout=$1 files=$2 work
  shift 2
  work=$(mktemp -d "$layout.XXXXXX")
  # shellcheck disable=SC2064 # expand now: $work is local
  trap "rm -rf '$work'" EXIT
  rm -rf "$layout" && cp -a "$SPAWNLET_TEST_IMAGES/busybox" "$layout"
  umoci unpack --image "$layout:latest" "$work/bundle" >/dev/null
  # What the tree replaces goes first: cp would write through an image symlink (/bin/ls ->
  # /bin/busybox is absolute: the host's file) instead of replacing it.
  (cd "$files" && find . ! -type d -print0) | (cd "$work/bundle/rootfs" && xargs -0 -r rm -f --)
  cp -a --remove-destination "$files"/. "$work/bundle/rootfs/"
  umoci repack --image "$layout:latest" "$work/bundle"
  umoci config --image "$layout:latest" "$@"
  umoci gc --layout "$layout"
)

# The trees of the stand-ins for critest's server images (scripts/critest-images): nginx and
# hostnet-nginx (critest fetches their main page, finds the nginx process), httpd (main page and a
# log line) and nonewprivs (a setuid-root program printing its effective uid, built with Go).
build_critest_image_trees() {
  local work=$1 src="$SPAWNLET_ROOT/scripts/critest-images" go
  go=$(find_go) || die "Go is needed to build critest's nonewprivs stand-in: none on PATH or in /usr/local/go (scripts/setup.sh installs it)"
  mkdir -p "$work/nginx/usr/sbin" "$work/nginx/usr/share/nginx/html" "$work/nginx/var/run"
  install -m 0755 "$src/nginx" "$work/nginx/usr/sbin/nginx"
  printf '%s\n' '<!DOCTYPE html>' '<html><head><title>Welcome to nginx!</title></head>' \
    '<body><h1>Welcome to nginx!</h1></body></html>' >"$work/nginx/usr/share/nginx/html/index.html"
  mkdir -p "$work/httpd/usr/local/bin" "$work/httpd/usr/local/apache2/htdocs"
  install -m 0755 "$src/httpd-foreground" "$work/httpd/usr/local/bin/httpd-foreground"
  echo '<html><body><h1>It works!</h1></body></html>' >"$work/httpd/usr/local/apache2/htdocs/index.html"
  build_critest_busybox_tree "$work/busybox"
  mkdir -p "$work/nonewprivs/usr/local/bin"
  (cd "$src/nonewprivs" && GOTOOLCHAIN=local GO111MODULE=off CGO_ENABLED=0 GOCACHE="$work/gocache" \
    "$go" build -trimpath -ldflags=-s -o "$work/nonewprivs/usr/local/bin/nnp" main.go)
  chown 0:0 "$work/nonewprivs/usr/local/bin/nnp" && chmod 4755 "$work/nonewprivs/usr/local/bin/nnp"
}

# critest's busybox (registry.k8s.io/e2e-test-images/busybox) as upstream's behaves where critest
# looks: applets as hard links, not symlinks (masking /bin/ls must not mask every applet); a shell
# that executes commands rather than running its own applets (Debian's dynamic busybox, not the
# "standalone" busybox-static: else a masked /bin/ls still runs); and pgrep and ipcs, which Debian
# leaves out of busybox: procps' and util-linux's. Each program comes with the libraries it loads.
build_critest_busybox_tree() {
  local tree=$1 deb dir program
  deb=$(mktemp -d "$tree.deb.XXXXXX")
  (cd "$deb" && apt-get download -q busybox >/dev/null) ||
    die "cannot download Debian's busybox package (apt-get download busybox): run apt-get update"
  dpkg-deb -x "$deb"/busybox_*.deb "$deb/root"
  for dir in bin sbin usr/bin usr/sbin; do mkdir -p "$tree/$dir"; done
  copy_with_libraries "$deb/root/bin/busybox" "$tree" /bin/busybox
  rm -rf "$deb"
  chroot "$tree" /bin/busybox --install
  for program in /usr/bin/pgrep /usr/bin/ipcs; do
    [[ -x $program ]] || die "$program is missing: install procps and util-linux"
    copy_with_libraries "$program" "$tree" "$program"
  done
}

# copy_with_libraries PROGRAM TREE PATH: PROGRAM as TREE/PATH, with the shared libraries it loads
# (as ldd finds them on this host) at their paths under TREE.
copy_with_libraries() {
  local program=$1 tree=$2 path=$3 lib
  mkdir -p "$tree$(dirname "$path")"
  cp "$program" "$tree$path"
  for lib in $(ldd "$program" | grep -o '/[^ ]*'); do
    mkdir -p "$tree$(dirname "$lib")"
    cp -L "$lib" "$tree$lib"
  done
}

push() {
  local src=$1 dest=$2
  shift 2
  skopeo copy -q --dest-tls-verify=false "$@" "oci:$src:latest" "docker://$REGISTRY_ADDR/$dest" >/dev/null
}

# The images critest v1.34 uses (pkg/validate/consts.go, pkg/framework/util.go), all made from the
# busybox test image (the server images behave as critest expects of the upstream ones: see
# build_critest_image_trees), under the paths and tags of their upstream names
# (registry.k8s.io/e2e-test-images/..., gcr.io/k8s-staging-cri-tools/...): CritestIT points those
# two hosts at this registry with the daemon's `registries: {HOST: {server: ...}}`. Each is also
# pushed as :latest, which is what critest pulls with -registry-prefix (it drops tags there).
# Not reproducible: test-image-digest@sha256:9700... (an upstream manifest digest).
push_critest_images() {
  local work=$1 name
  build_critest_image_trees "$work/trees"
  local master='nginx: master process nginx -g daemon off;'
  build_layer_variant "$work/nginx" "$work/trees/nginx" --config.entrypoint /usr/sbin/nginx \
    --clear=config.cmd --config.cmd "$master" --config.exposedports 80/tcp
  build_layer_variant "$work/hostnet-nginx" "$work/trees/nginx" --config.entrypoint /usr/sbin/nginx \
    --clear=config.cmd --config.cmd "$master" --config.env NGINX_PORT=12003 \
    --config.exposedports 12003/tcp
  build_layer_variant "$work/httpd" "$work/trees/httpd" --clear=config.cmd \
    --config.cmd httpd-foreground --config.exposedports 80/tcp
  build_layer_variant "$work/nonewprivs" "$work/trees/nonewprivs" \
    --config.entrypoint /usr/local/bin/nnp --clear=config.cmd
  local image
  for image in e2e-test-images/nginx:1.14-2:nginx e2e-test-images/httpd:2.4.39-4:httpd \
    e2e-test-images/nonewprivs:1.3:nonewprivs \
    k8s-staging-cri-tools/hostnet-nginx-amd64:latest:hostnet-nginx; do
    name=${image%:*}
    push "$work/${image##*:}" "$name"
    push "$work/${image##*:}" "${name%%:*}:latest"
  done
  build_layer_variant "$work/critest-busybox" "$work/trees/busybox"
  push "$work/critest-busybox" e2e-test-images/busybox:1.29-2
  push "$work/critest-busybox" e2e-test-images/busybox:latest
  # Distinct images, as upstream: critest checks that each one, pulled next to busybox, carries
  # only its own tags (a label makes the configs, hence the image ids, differ).
  local repo
  for repo in test-image-latest:latest test-image-tag:test,all test-image-digest:latest \
    test-image-tags:1,2,3; do
    build_config_variant "$work/${repo%%:*}" ".config.Labels = {\"spawnlet.test\": \"${repo%%:*}\"}"
    for name in $(tr , " " <<<"${repo#*:}") latest; do
      push "$work/${repo%%:*}" "k8s-staging-cri-tools/${repo%%:*}:$name"
    done
  done
  local variant user
  for variant in user-uid:1002 user-uid-group:1003:users user-username:www-data \
    user-username-group:www-data:100 predefined-group:1000; do
    user=${variant#*:}
    build_config_variant "$work/${variant%%:*}" ".config.User = \"$user\""
    push "$work/${variant%%:*}" "k8s-staging-cri-tools/test-image-${variant%%:*}:latest"
  done
  local n
  for n in 1 2 3; do # three different images: a label makes the configs differ
    build_config_variant "$work/image-$n" ".config.Labels = {\"spawnlet.test\": \"$n\"}"
    push "$work/image-$n" "k8s-staging-cri-tools/test-image-$n:latest"
  done
}

populate_storage() (
  local final=$SPAWNLET_TEST_REGISTRY_STORAGE work port pid
  work=$(mktemp -d "$SPAWNLET_CACHE/test-registry/populate.XXXXXX")
  # shellcheck disable=SC2064
  trap "[[ ! -f '$work/pid' ]] || kill \"\$(cat '$work/pid')\" 2>/dev/null || true; rm -rf '$work'" EXIT
  mkdir -p "$work/storage"
  port=$(free_port)
  write_registry_config "$work" "$port" "$work/storage"
  docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
  pid=$!
  echo "$pid" >"$work/pid"
  wait_for_registry "$port" "$pid" || die "docker-registry did not start: $(tail -5 "$work/registry.log")"
  REGISTRY_ADDR=127.0.0.1:$port
  local busybox="$SPAWNLET_TEST_IMAGES/busybox"
  # zstd first: skopeo would otherwise reuse the gzip blob it just pushed
  push "$busybox" busybox-zstd:latest --dest-compress --dest-compress-format zstd
  push "$busybox" busybox:latest
  build_index_layout "$work/multiarch" both
  push "$work/multiarch" multiarch:latest --all
  build_index_layout "$work/arm64" arm64
  push "$work/arm64" arm64-only:latest --all
  push_critest_images "$work"
  kill "$pid" && wait "$pid" 2>/dev/null || true
  mkdir -p "$(dirname "$final")" && rm -rf "$final" && mv "$work/storage" "$final"
  rm -rf "$work" # explicitly: the EXIT trap may be replaced by stage's own
  log "test registry storage: $(du -sh "$final" | cut -f1) in $final"
)

test_registry_populate() {
  mkdir -p "$SPAWNLET_CACHE/test-registry"
  exec {REGISTRY_LOCK}>"$SPAWNLET_CACHE/.test-registry.lock"
  flock "$REGISTRY_LOCK"
  if [[ -d $SPAWNLET_TEST_REGISTRY_STORAGE/docker ]]; then
    log "test registry storage: already populated in $SPAWNLET_TEST_REGISTRY_STORAGE"
  else
    stage "test registry ($TEST_REGISTRY_VERSION)" populate_storage
  fi
  flock -u "$REGISTRY_LOCK"
}

# start [--auth]: one registry per flavour, state in $REGISTRY_RUN_DIR/<flavour>/.
test_registry_start() {
  local flavour=open htpasswd=""
  [[ ${1:-} == --auth ]] && flavour=auth
  local dir="$REGISTRY_RUN_DIR/$flavour"
  mkdir -p "$dir"
  if [[ -f $dir/pid ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
    echo "127.0.0.1:$(cat "$dir/port")"
    return 0
  fi
  test_registry_populate
  if [[ $flavour == auth ]]; then
    htpasswd -Bbn "$TEST_REGISTRY_USER" "$TEST_REGISTRY_PASSWORD" >"$dir/htpasswd"
    htpasswd="$dir/htpasswd"
  fi
  local port pid
  port=$(free_port)
  write_registry_config "$dir" "$port" "$SPAWNLET_TEST_REGISTRY_STORAGE" "$htpasswd"
  setsid docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$dir/pid"
  echo "$port" >"$dir/port"
  wait_for_registry "$port" "$pid" || die "docker-registry did not start: $(tail -5 "$dir/registry.log")"
  log "test registry ($flavour) on 127.0.0.1:$port, pid $pid, log $dir/registry.log"
  echo "127.0.0.1:$port"
}

test_registry_stop() {
  local flavour=open
  [[ ${1:-} == --auth ]] && flavour=auth
  local dir="$REGISTRY_RUN_DIR/$flavour"
  if [[ -f $dir/pid ]]; then
    kill "$(cat "$dir/pid")" 2>/dev/null || true
    rm -f "$dir/pid" "$dir/port"
  fi
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  case ${1:-} in
    populate) test_images_main && test_registry_populate && echo "$SPAWNLET_TEST_REGISTRY_STORAGE" ;;
    start) test_images_main && test_registry_start "${2:-}" ;;
    stop) test_registry_stop "${2:-}" ;;
    *) die "usage: $0 populate | start [--auth] | stop [--auth]" ;;
  esac
fi
