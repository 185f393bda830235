#!/usr/bin/env bash
# Socket activation of a whole Debian machine: spawnlet next to systemd's own socket activation
# (systemd-socket-activate + systemd-nspawn -b) of the same rootfs, measured in one run.
#
#   sudo bench/activation/run.sh          # from anywhere; needs root
#
# It builds spawnlet (unless SKIP_BUILD=1), makes the debian-systemd test image
# (scripts/test-images.sh: examples/debian-systemd, whose http.socket on [::]:80 hands
# connections to nginx through systemd-socket-proxyd), starts a spawnlet daemon with its state in
# $WORK and its own bridge, sets up a network namespace + veth pair for the systemd side, and runs
# the Java client (bench/, io.spawnlet.bench.ActivationBench): cold wakes and awake requests
# alternating between the sides, boot-to-READY of plain pods, and the PSS of the socket holders of
# SLEEPING_PODS sleeping pods. Then it removes every trace and writes the "Socket activation"
# section of docs/BENCHMARKS.md. It is a benchmark, never part of the test suite.
#
# Environment:
#   SAMPLES=20 AWAKE_SAMPLES=200 WARMUP=2 SLEEPING_PODS=100
#   WORK=/tmp/spawnlet-bench-activation   scratch directory (removed at the end)
#   SKIP_BUILD=1                          reuse the jars already built
#   NO_DOCS=1                             print the report but leave docs/BENCHMARKS.md alone
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib/docs-section.sh
source "$REPO/bench/lib/docs-section.sh"
WORK=${WORK:-/tmp/spawnlet-bench-activation}
SAMPLES=${SAMPLES:-20}
AWAKE_SAMPLES=${AWAKE_SAMPLES:-200}
WARMUP=${WARMUP:-2}
SLEEPING_PODS=${SLEEPING_PODS:-100}
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
IMAGE=docker.io/spawnlet/debian-systemd:bookworm
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAVA=$JAVA_HOME/bin/java
# Names and subnets of this benchmark only (nothing else on the machine is touched).
NETNS=spbact-ref
VETH_HOST=spbact-h
VETH_NS=spbact-n
VETH_HOST_IP=10.251.77.1
VETH_NS_IP=10.251.77.2
BRIDGE=spbact-br
SUBNET=10.251.78.0/24

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { log "error: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "run as root: pods and machines need namespaces, mounts and bridges"
for tool in systemd-socket-activate systemd-nspawn umoci ip mount mvn; do
  command -v "$tool" >/dev/null || die "$tool is missing (Debian: systemd systemd-container umoci iproute2 maven)"
done

# ---------------------------------------------------------------- cleanup (also of earlier runs)

cleanup() {
  local pid cmdline mountpoint
  if [[ -f $WORK/daemon.pid ]]; then
    pid=$(<"$WORK/daemon.pid")
    if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$WORK"; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 150); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  # conmons, socket holders, socket-activate/nspawn: every process whose command line names $WORK
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
    cmdline=$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null) || continue
    [[ $cmdline == *"$WORK/"* ]] && kill -KILL "$pid" 2>/dev/null || true
  done
  # socket holders name the pod netns, not $WORK: they are in our netns files' namespaces
  sleep 0.3
  awk -v w="$WORK/" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r |
    while read -r mountpoint; do umount -l "$mountpoint" 2>/dev/null || true; done
  ip netns delete "$NETNS" 2>/dev/null || true
  ip link delete "$VETH_HOST" 2>/dev/null || true
  ip link delete "$BRIDGE" 2>/dev/null || true
  rm -rf "${WORK:?}"
}

# ---------------------------------------------------------------- set-up

build() {
  if [[ ${SKIP_BUILD:-} == 1 ]]; then
    log "SKIP_BUILD=1: using the jars already built"
  else
    (cd "$REPO" && mvn -B -q -DskipTests install)
  fi
  # private copies: a rebuild during the run does not change what is measured
  cp "$REPO/dist/target/spawnlet.jar" "$WORK/spawnlet.jar"
  cp "$REPO/bench/target/spawnlet-bench.jar" "$WORK/spawnlet-bench.jar"
}

reference_side() { # the rootfs (an overlay over the unpacked image) and the netns of the nspawn side
  local layout=$1
  umoci raw unpack --image "$layout:latest" "$WORK/rootfs"
  mkdir -p "$WORK/nspawn/"{upper,work,merged}
  mount -t overlay overlay -o "lowerdir=$WORK/rootfs,upperdir=$WORK/nspawn/upper,workdir=$WORK/nspawn/work" \
    "$WORK/nspawn/merged"
  ip netns add "$NETNS"
  ip link add "$VETH_HOST" type veth peer name "$VETH_NS" netns "$NETNS"
  ip addr add "$VETH_HOST_IP/30" dev "$VETH_HOST"
  ip link set "$VETH_HOST" up
  ip -n "$NETNS" addr add "$VETH_NS_IP/30" dev "$VETH_NS"
  ip -n "$NETNS" link set "$VETH_NS" up
  ip -n "$NETNS" link set lo up
}

spawnlet_side() {
  local layout=$1
  mkdir -p "$WORK/spawnlet/cni"
  "$JAVA" --enable-native-access=ALL-UNNAMED -jar "$WORK/spawnlet.jar" image import "$layout:latest" \
    --name "$IMAGE" --root "$WORK/spawnlet/root" >"$WORK/import.log" 2>&1 \
    || { cat "$WORK/import.log" >&2; die "spawnlet image import failed"; }
  # --config names a file that does not exist, so nothing from /etc/spawnlet is read
  SPAWNLET_METRICS_ADDRESS=off "$JAVA" --enable-native-access=ALL-UNNAMED -jar "$WORK/spawnlet.jar" cri \
    --config "$WORK/no-config.yaml" --socket "$WORK/spawnlet/cri.sock" --root "$WORK/spawnlet/root" \
    --run-root "$WORK/spawnlet/run" --cni-conf-dir "$WORK/spawnlet/cni" --cni-bridge "$BRIDGE" \
    --cni-subnet "$SUBNET" >"$WORK/daemon.log" 2>&1 &
  echo $! >"$WORK/daemon.pid"
  for _ in $(seq 600); do
    [[ -S $WORK/spawnlet/cri.sock ]] && return 0
    kill -0 "$(<"$WORK/daemon.pid")" 2>/dev/null || { tail -n 30 "$WORK/daemon.log" >&2; die "spawnlet exited"; }
    sleep 0.1
  done
  die "spawnlet did not open its CRI socket within 60 s (log: $WORK/daemon.log)"
}

measure() {
  "$JAVA" --enable-native-access=ALL-UNNAMED -cp "$WORK/spawnlet-bench.jar" io.spawnlet.bench.ActivationBench \
    --socket "$WORK/spawnlet/cri.sock" --image "$IMAGE" --daemon-pid "$(<"$WORK/daemon.pid")" \
    --samples "$SAMPLES" --awake-samples "$AWAKE_SAMPLES" --warmup "$WARMUP" \
    --sleeping-pods "$SLEEPING_PODS" --nspawn-netns "$NETNS" --nspawn-address "$VETH_NS_IP" \
    --nspawn-rootfs "$WORK/nspawn/merged" --work "$WORK" --out "$WORK/result"
  mkdir -p "$REPO/bench/results"
  cp "$WORK/result.json" "$REPO/bench/results/activation.json"
}

# ---------------------------------------------------------------- report

section() {
  local cpu mem
  cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
  mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
  echo "## Socket activation"
  echo
  echo "A whole Debian machine (the debian-systemd test image, examples/debian-systemd) that sleeps" \
    "until a connection arrives on port 80, spawnlet next to systemd's own socket activation of the" \
    "same rootfs, in one run. Inside, systemd adopts the passed \`[::]:80\` socket for \`http.socket\`" \
    "and hands each connection to nginx through \`systemd-socket-proxyd\`; the client times a new" \
    "connection's \`GET /\` from before \`connect\` to the first byte of the response."
  echo
  echo "- Date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- Machine: $(nproc) CPUs ($cpu), $mem memory, kernel $(uname -r)," \
    "cgroups $( [[ -d /sys/fs/cgroup/unified ]] && echo 'hybrid (v1 + cgroup2 at /sys/fs/cgroup/unified)' || stat -fc %T /sys/fs/cgroup)," \
    "load average at the start: $LOAD_AT_START, at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- spawnlet: $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown), crun $(crun --version | head -1 | awk '{print $3}')," \
    "conmon $(conmon --version 2>/dev/null | head -1 | awk '{print $3}'); systemd $(systemd-nspawn --version | head -1 | awk '{print $2}') (nspawn, socket-activate)"
  echo
  echo "- **spawnlet**: a \`system\` pod (systemd as PID 1) with \`spawnlet.io/activation: socket\`," \
    "\`spawnlet.io/activation-ports: 80/tcp\`, idle timeout 1 s (cold wakes) or 0 (awake requests);" \
    "the client connects to the pod IP on spawnlet's bridge. Asleep again (poweroff by SIGRTMIN+3," \
    "state \`sleeping\` in the verbose PodSandboxStatus) before the next sample."
  echo "- **systemd**: \`nsenter --net=/run/netns/NS systemd-socket-activate -l 80 -- systemd-nspawn -b" \
    "--private-network --register=no --keep-unit\` on an overlay over the same unpacked image, in a" \
    "network namespace of the benchmark reached over a veth pair (the socket-activate process holds" \
    "\`[::]:80\` there, as spawnlet's holder does in the pod netns). After each wake nspawn powers the" \
    "machine off (SIGTERM) and a new socket-activate listens."
  echo "- Both sides reuse one container root across wakes (not a first boot: the sshd host key exists)."
  echo "  Boot-to-READY is CreateContainer+StartContainer of a plain system pod (returns at READY=1), a" \
    "first boot of a new container each time."
  echo "- Interleaved: cold wake i goes spawnlet then systemd, i+1 the other way round (A,B,B,A…), each" \
    "side asleep again before the other is measured and ${SETTLE_MS:-300} ms of rest before each sample;" \
    "awake requests rotate over the three awake targets. $WARMUP uncounted cold wakes per side first." \
    "Other engineers share the 2 cores, so load from elsewhere falls on both sides alike."
  echo "- Memory: $SLEEPING_PODS socket-activated pods created and started (all asleep), then the PSS" \
    "(/proc/PID/smaps_rollup) of each pod's socket holder, and the daemon's PSS growth from before" \
    "the pods were created divided by their number (an upper bound: it includes JVM heap the GC has" \
    "not given back)."
  echo
  cat "$WORK/result.md"
  echo
  echo "Raw samples: bench/results/activation.json of the run. Reproduce (root):"
  echo
  echo '```'
  echo "SAMPLES=$SAMPLES AWAKE_SAMPLES=$AWAKE_SAMPLES WARMUP=$WARMUP SLEEPING_PODS=$SLEEPING_PODS bench/activation/run.sh"
  echo '```'
}

write_docs() {
  local docs=$REPO/docs/BENCHMARKS.md new
  new=$(section)
  printf '%s\n' "$new"
  [[ ${NO_DOCS:-} == 1 ]] && { log "NO_DOCS=1: docs/BENCHMARKS.md left alone"; return; }
  replace_docs_section "$docs" activation "$new"
  log "wrote the Socket activation section of $docs"
}

# ---------------------------------------------------------------- main

[[ ${KEEP:-} == 1 ]] || trap 'status=$?; trap - EXIT INT TERM; log "cleaning up"; cleanup; exit $status' EXIT INT TERM
cleanup
mkdir -p "$WORK"
log "build"; build
log "test images"; images=$("$REPO/scripts/test-images.sh")
log "systemd side: rootfs overlay, netns $NETNS"; reference_side "$images/debian-systemd"
log "spawnlet side: image import, daemon"; spawnlet_side "$images/debian-systemd"
log "measure"; measure
log "stop the daemon"
kill -TERM "$(<"$WORK/daemon.pid")"; for _ in $(seq 150); do kill -0 "$(<"$WORK/daemon.pid")" 2>/dev/null || break; sleep 0.1; done
write_docs
