#!/usr/bin/env bash
# Image pull time: spawnlet next to containerd's CRI plugin, from one loopback registry, one run.
#
#   sudo bench/pull/run.sh          # from anywhere; needs root
#
# It starts a registry (Debian's docker-registry) on 127.0.0.1 over storage in $WORK, pushes the
# busybox and debian-systemd test images (scripts/test-images.sh) into it with skopeo, starts
# containerd (CRI plugin, overlayfs) and spawnlet side by side with their state in $WORK, and
# times `crictl pull` of each image against each daemon's CRI socket: SAMPLES rounds, each image
# pulled by both runtimes in alternating order (round i: containerd first, round i+1: spawnlet
# first). Every pull starts cold: the image is removed with `crictl rmi` before it and the stores
# are checked empty (containerd: no content blob, no snapshot; spawnlet: no layer). Both pull over
# plain HTTP (configured explicitly on both sides), verify digests and unpack every layer. Then it
# removes every trace and writes the "Image pull" section of docs/BENCHMARKS.md. A benchmark,
# never part of the test suite.
#
# Environment:
#   SAMPLES=5 WARMUP=1               measured pulls per image per runtime; uncounted rounds first
#   WORK=/tmp/spawnlet-bench-pull    scratch directory (removed at the end)
#   SKIP_BUILD=1                     reuse dist/target/spawnlet.jar
#   NO_DOCS=1                        print the report but leave docs/BENCHMARKS.md alone
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib/docs-section.sh
source "$REPO/bench/lib/docs-section.sh"
WORK=${WORK:-/tmp/spawnlet-bench-pull}
SAMPLES=${SAMPLES:-5}
WARMUP=${WARMUP:-1}
TEST_IMAGES=${SPAWNLET_TEST_IMAGES:-/var/cache/spawnlet/test-images/v2}
CRICTL=${SPAWNLET_CRICTL:-/var/cache/spawnlet/go-tools/cri-tools-v1.34.0/crictl}
IMAGES=(busybox debian-systemd)
RUNTIMES=(containerd spawnlet)
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $(id -u) == 0 ]] || die "run as root: both runtimes mount overlays"
for tool in containerd ctr docker-registry skopeo jq python3; do
  command -v "$tool" >/dev/null || die "$tool is missing (Debian: containerd docker-registry skopeo jq)"
done
[[ -x $CRICTL ]] || die "crictl missing at $CRICTL: run scripts/setup.sh"
for image in "${IMAGES[@]}"; do
  [[ -f $TEST_IMAGES/$image/index.json ]] || die "$TEST_IMAGES/$image missing: run scripts/test-images.sh"
done

# ---------------------------------------------------------------- processes and cleanup

alive() { [[ -f $WORK/$1.pid ]] && kill -0 "$(<"$WORK/$1.pid")" 2>/dev/null; }

stop() { # NAME: SIGTERM the process of $WORK/NAME.pid, SIGKILL after 15 s
  alive "$1" || return 0
  local pid
  pid=$(<"$WORK/$1.pid")
  kill -TERM "$pid"
  for _ in $(seq 150); do [[ -d /proc/$pid ]] || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
  local name mountpoint
  for name in spawnlet containerd registry; do stop "$name"; done
  # deepest first: overlay and snapshot mounts either daemon may have left
  awk -v w="$WORK/" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r |
    while read -r mountpoint; do umount -l "$mountpoint" 2>/dev/null || true; done
  rm -rf "${WORK:?}"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_for() { # NAME TEST...: until TEST succeeds, while NAME's process lives (30 s)
  local name=$1; shift
  for _ in $(seq 300); do
    "$@" && return 0
    alive "$name" || { tail -n 30 "$WORK/$name.log" >&2; die "$name exited while starting"; }
    sleep 0.1
  done
  die "$name did not start within 30 s (log: $WORK/$name.log)"
}

# ---------------------------------------------------------------- registry, daemons

start_registry() {
  PORT=$(free_port)
  REGISTRY=127.0.0.1:$PORT
  mkdir -p "$WORK/registry"
  printf 'version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: %s}\n' \
    "$WORK/registry" "$REGISTRY" >"$WORK/registry.yml"
  docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
  echo $! >"$WORK/registry.pid"
  wait_for registry curl -sf -o /dev/null "http://$REGISTRY/v2/"
  local image
  for image in "${IMAGES[@]}"; do
    skopeo copy -q --dest-tls-verify=false "oci:$TEST_IMAGES/$image" "docker://$REGISTRY/bench/$image:latest"
  done
}

start_containerd() {
  local dir=$WORK/containerd
  mkdir -p "$dir"/{root,state,cni}
  cat >"$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
[grpc]
  address = "$dir/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
  [plugins."io.containerd.grpc.v1.cri".cni]
    conf_dir = "$dir/cni"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."$REGISTRY"]
    endpoint = ["http://$REGISTRY"]
TOML
  containerd --config "$dir/config.toml" >"$WORK/containerd.log" 2>&1 &
  echo $! >"$WORK/containerd.pid"
  wait_for containerd test -S "$dir/containerd.sock"
  SOCKET[containerd]=$dir/containerd.sock
}

start_spawnlet() {
  local dir=$WORK/spawnlet
  mkdir -p "$dir"/{root,run,cni}
  # plain HTTP said explicitly, as for containerd (unconfigured, a loopback host is tried over TLS first)
  printf 'registries:\n  "%s": {insecure: true}\n' "$REGISTRY" >"$dir/config.yaml"
  (cd "$REPO" && exec ./spawnlet cri --config "$dir/config.yaml" --socket "$dir/cri.sock" \
    --root "$dir/root" --run-root "$dir/run" --cni-conf-dir "$dir/cni") >"$WORK/spawnlet.log" 2>&1 &
  echo $! >"$WORK/spawnlet.pid"
  wait_for spawnlet test -S "$dir/cri.sock"
  SOCKET[spawnlet]=$dir/cri.sock
}

crictl_on() { # RUNTIME ARGS...
  local runtime=$1; shift
  "$CRICTL" --runtime-endpoint "unix://${SOCKET[$runtime]}" --image-endpoint "unix://${SOCKET[$runtime]}" \
    --config "$WORK/crictl.yaml" --timeout 600s "$@"
}

# ---------------------------------------------------------------- measure

stores_empty() { # RUNTIME
  case $1 in
    containerd)
      [[ -z $(ctr -a "${SOCKET[containerd]}" -n k8s.io content ls -q) ]] &&
        [[ -z $(ctr -a "${SOCKET[containerd]}" -n k8s.io snapshots ls | tail -n +2) ]] ;;
    spawnlet)
      [[ -z $(find "$WORK/spawnlet/root/storage/layers" -mindepth 1 -maxdepth 1 2>/dev/null) ]] ;;
  esac
}

make_cold() { # RUNTIME: no image, and (after containerd's GC) no blob or layer left
  crictl_on "$1" rmi --all >/dev/null 2>&1 || true
  for _ in $(seq 100); do stores_empty "$1" && return 0; sleep 0.1; done
  die "$1: the store is not empty after rmi --all"
}

pull_ms() { # RUNTIME IMAGE: one cold pull, milliseconds on stdout
  local start end
  make_cold "$1"
  start=$EPOCHREALTIME
  crictl_on "$1" pull "$REGISTRY/bench/$2:latest" >/dev/null
  end=$EPOCHREALTIME
  awk -v a="$start" -v b="$end" 'BEGIN{printf "%.0f\n", (b-a)*1000}'
}

measure() {
  local round image runtime order ms
  for ((round = -WARMUP; round < SAMPLES; round++)); do
    if ((round % 2 == 0)); then order=(containerd spawnlet); else order=(spawnlet containerd); fi
    for image in "${IMAGES[@]}"; do
      for runtime in "${order[@]}"; do
        ms=$(pull_ms "$runtime" "$image")
        log "round $((round + 1))/$SAMPLES $image $runtime: $ms ms"
        ((round < 0)) || echo "$runtime $image $ms" >>"$WORK/samples"
      done
    done
  done
}

# ---------------------------------------------------------------- report

stat_of() { # RUNTIME IMAGE: "median min max" of the samples
  awk -v r="$1" -v i="$2" '$1 == r && $2 == i {print $3}' "$WORK/samples" | sort -n |
    awk '{v[NR] = $1} END {m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.0f %d %d\n", m, v[1], v[NR]}'
}

samples_of() { # RUNTIME IMAGE: the samples in the order taken
  awk -v r="$1" -v i="$2" '$1 == r && $2 == i {printf "%s%s", sep, $3; sep = ", "}' "$WORK/samples"
}

section() {
  local image c s cpu mem size
  cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
  mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
  echo "## Image pull"
  echo
  echo "Milliseconds of \`crictl pull\` (v1.34) from a loopback registry (Debian docker-registry" \
    "$(dpkg-query -W -f='${Version}' docker-registry 2>/dev/null)), cold each time (image removed," \
    "stores checked empty), $SAMPLES pulls per image and runtime after $WARMUP uncounted round(s) (the JIT), interleaved (round i: containerd then" \
    "spawnlet, round i+1: the other way round). Both download, verify and unpack every layer (spawnlet" \
    "into its layer store, containerd into overlayfs snapshots). Ratio = spawnlet / containerd (below 1:" \
    "spawnlet is faster)."
  echo
  echo "- Date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- Machine: $(nproc) CPUs ($cpu), $mem memory, kernel $(uname -r), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (shared with other work)"
  echo "- containerd: $(containerd --version | awk '{print $3}') (Debian), CRI plugin, overlayfs snapshotter, the registry as an http mirror of itself"
  echo "- spawnlet: $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown), \`registries: {HOST: {insecure: true}}\`; $("$JAVA_HOME/bin/java" -version 2>&1 | head -1)"
  echo
  echo "| image (compressed size) | containerd median | spawnlet median | ratio | containerd min-max | spawnlet min-max |"
  echo "|---|---:|---:|---:|---:|---:|"
  for image in "${IMAGES[@]}"; do
    read -r cm cmin cmax <<<"$(stat_of containerd "$image")"
    read -r sm smin smax <<<"$(stat_of spawnlet "$image")"
    size=$(du -sh --apparent-size "$TEST_IMAGES/$image/blobs" | cut -f1)
    echo "| $image ($size) | $cm | $sm | $(awk -v a="$sm" -v b="$cm" 'BEGIN{printf "%.2f", a/b}') | $cmin-$cmax | $smin-$smax |"
  done
  echo
  echo "Samples in order taken:"
  echo
  for image in "${IMAGES[@]}"; do
    for runtime in "${RUNTIMES[@]}"; do echo "- $image, $runtime: $(samples_of "$runtime" "$image")"; done
  done
  echo
  echo "Reproduce (root): \`SAMPLES=$SAMPLES WARMUP=$WARMUP bench/pull/run.sh\`"
}

write_docs() {
  local docs=$REPO/docs/BENCHMARKS.md new
  new=$(section)
  printf '%s\n' "$new"
  [[ ${NO_DOCS:-} == 1 ]] && { log "NO_DOCS=1: docs/BENCHMARKS.md left alone"; return; }
  replace_docs_section "$docs" image-pull "$new"
  log "wrote the Image pull section of $docs"
}

# ---------------------------------------------------------------- main

declare -A SOCKET
cleanup
mkdir -p "$WORK"
: >"$WORK/crictl.yaml"
[[ ${KEEP:-} == 1 ]] || trap 'status=$?; trap - EXIT INT TERM; log "cleaning up"; cleanup; exit $status' EXIT INT TERM
if [[ ${SKIP_BUILD:-} != 1 ]]; then (cd "$REPO" && mvn -B -q -DskipTests install); fi
start_registry
start_containerd
start_spawnlet
log "registry $REGISTRY; containerd and spawnlet up; $SAMPLES rounds"
measure
write_docs
