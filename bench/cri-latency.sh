#!/usr/bin/env bash
# CRI latency of spawnlet next to containerd's CRI plugin, measured in one run on this machine.
#
#   sudo bench/cri-latency.sh            # from the repository root; needs root
#
# It starts each runtime in ORDER with its own state under $WORK, gives each the
# same busybox image, the same CNI plugins (/usr/lib/cni: bridge + host-local, each runtime on
# its own bridge and subnet) and the same OCI runtime (runc), runs the same Java client
# (bench/, io.spawnlet.bench.CriLatencyBench) against their CRI sockets, one pod at a time,
# interleaved (pod i: A then B, pod i+1: B then A), then stops them and removes every
# trace (pods, mounts, netns, bridge, cgroups, processes, files). Then it writes the "CRI latency"
# section of docs/BENCHMARKS.md. Re-running is safe: leftovers of an interrupted run are removed
# first. It is a benchmark, never part of the test suite.
#
# Environment:
#   PODS=100 WARMUP=5        measured pods and uncounted warm-up pods per runtime
#   ORDER=containerd,spawnlet  which runtimes (one alone is fine); the first goes first on even pods
#   WORK=/tmp/spawnlet-bench  scratch directory (removed at the end)
#   SKIP_BUILD=1             reuse the jars already built
#   NO_DOCS=1                print the report but leave docs/BENCHMARKS.md alone
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/docs-section.sh
source "$REPO/bench/lib/docs-section.sh"
WORK=${WORK:-/tmp/spawnlet-bench}
PODS=${PODS:-100}
WARMUP=${WARMUP:-5}
ORDER=${ORDER:-containerd,spawnlet}
OCI_RUNTIME=runc # see "Why runc" in docs/BENCHMARKS.md: crun 1.8.1 refuses this hybrid-cgroup host
OCI_RUNTIME_PATH=$(command -v "$OCI_RUNTIME")
CNI_PLUGINS=/usr/lib/cni
IMAGE=docker.io/library/busybox:latest
PAUSE_IMAGE=localhost/spawnlet-bench/pause:latest
CGROUP_PARENT=/spawnlet-bench
RESULTS=$REPO/bench/results
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAVA=$JAVA_HOME/bin/java
JAVA_OPTS=(--sun-misc-unsafe-memory-access=allow)

# name, bridge and subnet of each runtime's pod network (unique, so nothing else is touched)
declare -A BRIDGE=([containerd]=spbench-ctd [spawnlet]=spbench-spl)
declare -A SUBNET=([containerd]=10.250.1.0/24 [spawnlet]=10.250.2.0/24)

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { log "error: $*" >&2; exit 1; }

# stage NAME COMMAND...: runs one step and says how long it took
stage() {
  local name=$1; shift
  local start=$EPOCHREALTIME
  log "==> $name"
  "$@"
  log "<== $name ($(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f s", b-a}'))"
}

[[ $(id -u) == 0 ]] || die "run as root: the runtimes create namespaces, mounts and bridges"
for tool in containerd ctr containerd-shim-runc-v2 "$OCI_RUNTIME" umoci skopeo busybox cc jq ip mvn; do
  command -v "$tool" >/dev/null || die "$tool is missing (Debian: containerd runc umoci skopeo busybox-static gcc jq iproute2 maven)"
done
[[ -x $CNI_PLUGINS/bridge && -x $CNI_PLUGINS/host-local && -x $CNI_PLUGINS/loopback ]] \
  || die "CNI plugins missing in $CNI_PLUGINS (Debian: containernetworking-plugins)"

# ---------------------------------------------------------------- cleanup (also of earlier runs)

# Processes this script started: the daemons (pid files), then anything whose command line holds
# the unique $WORK path (containerd's shims and spawnlet's conmons daemonise), then the pods'
# own processes (in our cgroup parent). Each is ended by its pid.
kill_our_processes() {
  local pidfile pid cmdline
  for pidfile in "$WORK"/*/daemon.pid; do
    [[ -f $pidfile ]] || continue
    pid=$(<"$pidfile")
    if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -F "$WORK" >/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 100); do [[ -d /proc/$pid ]] || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
    cmdline=$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null) || continue
    if [[ $cmdline == *"$WORK/"* ]]; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  local procs
  for procs in $(find /sys/fs/cgroup/*"$CGROUP_PARENT" -name cgroup.procs 2>/dev/null); do
    for pid in $(cat "$procs" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  done
  sleep 0.2 # let the kernel reap them before cgroups and netns are removed
}

unmount_under_work() {
  local mountpoint
  # deepest first; mountinfo escapes spaces as \040, $WORK has none
  awk -v w="$WORK/" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r mountpoint; do
    umount -l "$mountpoint" 2>/dev/null || true
  done
}

# containerd names pod netns /run/netns/cni-<uuid>; ours are those holding an address of our subnets
remove_our_netns() {
  local ns prefix
  [[ -d /run/netns ]] || return 0
  for ns in $(ls /run/netns); do
    for prefix in "${SUBNET[@]}"; do
      prefix=${prefix%.0/24}.
      if ip -n "$ns" -4 -o addr show 2>/dev/null | grep -qF " inet $prefix"; then
        ip netns delete "$ns" 2>/dev/null || true
      fi
    done
  done
}

remove_our_cgroups() {
  local dir
  for dir in /sys/fs/cgroup/*"$CGROUP_PARENT" /sys/fs/cgroup/unified"$CGROUP_PARENT"; do
    [[ -d $dir ]] || continue
    find "$dir" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

cleanup_runtime() { # RUNTIME: what is left of one runtime's run
  local runtime=$1
  if [[ -S $WORK/$runtime/cri.sock && -f $BENCH_JAR ]] && daemon_alive "$runtime"; then
    "$JAVA" "${JAVA_OPTS[@]}" -jar "$BENCH_JAR" --target "$runtime=$WORK/$runtime/cri.sock" --cleanup-only || true
  fi
  kill_our_processes
  unmount_under_work
  remove_our_netns
  ip link delete "${BRIDGE[$runtime]}" 2>/dev/null || true
  remove_our_cgroups
  rm -rf "${WORK:?}/$runtime"
}

cleanup_all() {
  local runtime
  for runtime in "${!BRIDGE[@]}"; do
    if [[ -d $WORK/$runtime ]]; then cleanup_runtime "$runtime"; fi
  done
  kill_our_processes
  unmount_under_work
  remove_our_netns
  for runtime in "${!BRIDGE[@]}"; do ip link delete "${BRIDGE[$runtime]}" 2>/dev/null || true; done
  remove_our_cgroups
  rm -rf "${WORK:?}"
}

daemon_alive() { [[ -f $WORK/$1/daemon.pid ]] && kill -0 "$(<"$WORK/$1/daemon.pid")" 2>/dev/null; }

wait_for_socket() { # RUNTIME
  local socket=$WORK/$1/cri.sock
  for _ in $(seq 300); do
    [[ -S $socket ]] && return 0
    daemon_alive "$1" || { tail -n 30 "$WORK/$1/daemon.log" >&2; die "$1 exited while starting (log above)"; }
    sleep 0.1
  done
  die "$1 did not open $socket within 30 s (log: $WORK/$1/daemon.log)"
}

stop_daemon() { # RUNTIME
  local runtime=$1 pid
  daemon_alive "$runtime" || return 0
  pid=$(<"$WORK/$runtime/daemon.pid")
  kill -TERM "$pid"
  for _ in $(seq 150); do [[ -d /proc/$pid ]] || return 0; sleep 0.1; done
  log "$runtime did not stop on SIGTERM within 15 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------- build and images

build() {
  if [[ ${SKIP_BUILD:-} == 1 ]]; then
    log "SKIP_BUILD=1: using the jars already built"
  else
    (cd "$REPO" && mvn -B -q -DskipTests install)
  fi
  [[ -f $BENCH_JAR ]] || die "$BENCH_JAR missing: build with mvn -B -q -DskipTests install"
}

# An OCI layout at DIR:latest whose rootfs is filled by the function FILL (given the rootfs path).
oci_layout() { # DIR FILL UMOCI-CONFIG-ARGS...
  local layout=$1 fill=$2; shift 2
  local bundle=$WORK/images/bundle
  umoci init --layout "$layout"
  umoci new --image "$layout:latest"
  umoci unpack --image "$layout:latest" "$bundle" >/dev/null
  "$fill" "$bundle/rootfs"
  umoci repack --image "$layout:latest" "$bundle"
  umoci config --image "$layout:latest" --os linux --architecture amd64 "$@"
  umoci gc --layout "$layout"
  rm -rf "$bundle"
}

fill_busybox() { # ROOTFS: Debian's static busybox and one symlink per applet
  mkdir -p "$1/bin" "$1/tmp" "$1/etc"
  cp /bin/busybox "$1/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list); do
    [[ -e $1/bin/$applet ]] || ln -s busybox "$1/bin/$applet"
  done
}

fill_pause() { # ROOTFS: our static pause (bench/pause/pause.c)
  cp "$WORK/images/pause.bin" "$1/pause"
}

images() {
  mkdir -p "$WORK/images"
  cc -static -Os -Wall -Wextra -o "$WORK/images/pause.bin" "$REPO/bench/pause/pause.c"
  oci_layout "$WORK/images/busybox-oci" fill_busybox \
    --config.cmd sh --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  oci_layout "$WORK/images/pause-oci" fill_pause --config.entrypoint /pause --clear=config.cmd
  skopeo copy --quiet "oci:$WORK/images/busybox-oci:latest" "oci-archive:$WORK/images/busybox.tar:$IMAGE"
  skopeo copy --quiet "oci:$WORK/images/pause-oci:latest" "oci-archive:$WORK/images/pause.tar:$PAUSE_IMAGE"
}

cni_conflist() { # RUNTIME DIR: bridge + host-local on the runtime's own bridge and subnet
  local runtime=$1 dir=$2
  mkdir -p "$dir"
  jq -n --arg name "${BRIDGE[$runtime]}" --arg subnet "${SUBNET[$runtime]}" \
    --arg data "$WORK/$runtime/cni-ipam" '{
      cniVersion: "1.0.0", name: $name,
      plugins: [{type: "bridge", bridge: $name, isGateway: true, ipMasq: false,
                 ipam: {type: "host-local", ranges: [[{subnet: $subnet}]], dataDir: $data}}]
    }' >"$dir/10-${BRIDGE[$runtime]}.conflist"
}

# ---------------------------------------------------------------- containerd

start_containerd() {
  local dir=$WORK/containerd
  mkdir -p "$dir"/{root,state,runc,opt,logs}
  cni_conflist containerd "$dir/cni"
  cat >"$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
[grpc]
  address = "$dir/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$OCI_RUNTIME_PATH"
        Root = "$dir/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_PLUGINS"
    conf_dir = "$dir/cni"
    max_conf_num = 1
EOF
  containerd --config "$dir/config.toml" >"$dir/daemon.log" 2>&1 &
  echo $! >"$dir/daemon.pid"
  # the CRI plugin serves on containerd's own socket
  for _ in $(seq 300); do [[ -S $dir/containerd.sock ]] && break; sleep 0.1; done
  ln -sf "$dir/containerd.sock" "$dir/cri.sock"
  wait_for_socket containerd
  ctr -a "$dir/containerd.sock" -n k8s.io images import --base-name docker.io/library/busybox "$WORK/images/busybox.tar" >/dev/null
  ctr -a "$dir/containerd.sock" -n k8s.io images import --base-name localhost/spawnlet-bench/pause "$WORK/images/pause.tar" >/dev/null
  ctr -a "$dir/containerd.sock" -n k8s.io images ls -q | grep -xF "$IMAGE" >/dev/null || die "containerd: $IMAGE not imported"
  ctr -a "$dir/containerd.sock" -n k8s.io images ls -q | grep -xF "$PAUSE_IMAGE" >/dev/null || die "containerd: $PAUSE_IMAGE not imported"
}

# ---------------------------------------------------------------- spawnlet

start_spawnlet() {
  local dir=$WORK/spawnlet
  [[ -x $REPO/spawnlet ]] || die "$REPO/spawnlet missing: main has no spawnlet launcher yet (ORDER=containerd to measure containerd alone)"
  mkdir -p "$dir"/{root,run,logs}
  cni_conflist spawnlet "$dir/cni"
  (cd "$REPO" && ./spawnlet image import "$WORK/images/busybox-oci:latest" --name "$IMAGE" --root "$dir/root") >"$dir/import.log" 2>&1 \
    || { cat "$dir/import.log" >&2; die "spawnlet image import failed"; }
  # --config names a file that does not exist, so nothing from /etc/spawnlet is read
  (cd "$REPO" && exec ./spawnlet cri --config "$dir/no-config.yaml" --socket "$dir/cri.sock" \
    --root "$dir/root" --run-root "$dir/run" --cni-conf-dir "$dir/cni" --cni-plugin-dir "$CNI_PLUGINS" \
    --cni-bridge "${BRIDGE[spawnlet]}" --cni-subnet "${SUBNET[spawnlet]}" --runtime "$OCI_RUNTIME") \
    >"$dir/daemon.log" 2>&1 &
  echo $! >"$dir/daemon.pid"
  wait_for_socket spawnlet
}

# ---------------------------------------------------------------- measure

measure() { # RUNTIME...: one client, pods interleaved across the runtimes
  local runtime targets=()
  for runtime in "$@"; do targets+=(--target "$runtime=$WORK/$runtime/cri.sock"); done
  rm -f "$RESULTS"/{containerd,spawnlet}.json
  "$JAVA" "${JAVA_OPTS[@]}" -jar "$BENCH_JAR" "${targets[@]}" \
    --pods "$PODS" --warmup "$WARMUP" --image "$IMAGE" --cgroup-parent "$CGROUP_PARENT" \
    --log-root "$WORK/logs" --json-dir "$RESULTS"
}

# ---------------------------------------------------------------- report

machine_facts() {
  local cpu mem
  cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
  mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
  echo "- Date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- Machine: $(nproc) CPUs ($cpu), $mem memory, kernel $(uname -r)," \
    "cgroups $( [[ -d /sys/fs/cgroup/unified ]] && echo 'hybrid (v1 + cgroup2 at /sys/fs/cgroup/unified)' || stat -fc %T /sys/fs/cgroup)"
  echo "- OCI runtime: $("$OCI_RUNTIME_PATH" --version | head -1) for both (crun: $(crun --version | head -1 | awk '{print $3}'), not used, see below)"
  echo "- containerd: $(containerd --version | awk '{print $3}') (Debian), CRI plugin, runc v2 shim, overlayfs, cgroupfs," \
    "\`restrict_oom_score_adj = true\` (root here lacks CAP_SYS_RESOURCE: runc cannot lower the sandbox's oom_score_adj to -998)"
  echo "- spawnlet: $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown) (commit of this checkout)"
  echo "- CNI: $CNI_PLUGINS bridge + host-local $(dpkg-query -W -f='${Version}' containernetworking-plugins 2>/dev/null), one bridge and /24 per runtime; Java client: $("$JAVA" -version 2>&1 | head -1)"
}

# p50/p99 of one operation from a results file, or "—" when that runtime was not measured
stat_of() { # RUNTIME OPERATION FIELD
  local file=$RESULTS/$1.json
  [[ -f $file && $(jq -r '.started_at' "$file") > $RUN_STARTED ]] || { echo "—"; return; }
  jq -r --arg op "$2" --arg f "$3" '.operations[$op][$f]' "$file" | awk '{printf "%.2f\n", $1}'
}

ratio() { # A B
  [[ $1 == "—" || $2 == "—" ]] && { echo "—"; return; }
  awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'
}

section() {
  local op c50 s50 c99 s99
  echo "## CRI latency"
  echo
  echo "Milliseconds per pod, one pod at a time, $PODS pods measured after $WARMUP warm-up pods," \
    "the same Java client (bench/, CriLatencyBench over the CRI unix socket) against each runtime." \
    "Ratio = spawnlet / containerd (below 1: spawnlet is faster). Both daemons ran side by side" \
    "and the pods were interleaved, one pod at a time (pod i: ${ORDER//,/ then }; pod i+1: the" \
    "other way round), so load from elsewhere on the machine falls on both alike."
  echo
  machine_facts
  echo
  echo "| operation | containerd p50 | spawnlet p50 | ratio p50 | containerd p99 | spawnlet p99 | ratio p99 |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for op in RunPodSandbox CreateContainer+StartContainer StopContainer+RemoveContainer StopPodSandbox+RemovePodSandbox; do
    c50=$(stat_of containerd "$op" p50_ms); s50=$(stat_of spawnlet "$op" p50_ms)
    c99=$(stat_of containerd "$op" p99_ms); s99=$(stat_of spawnlet "$op" p99_ms)
    echo "| $op | $c50 | $s50 | $(ratio "$s50" "$c50") | $c99 | $s99 | $(ratio "$s99" "$c99") |"
  done
  if [[ $(stat_of spawnlet RunPodSandbox p50_ms) == "—" ]]; then
    echo
    echo "spawnlet was not measured in this run (ORDER=$ORDER): its columns stay empty until a run with both."
  fi
  echo
  echo "Each pod: RunPodSandbox (kubelet's default namespaces: pod network and IPC, PID per container;" \
    "cgroup parent $CGROUP_PARENT; no port mappings), CreateContainer+StartContainer of one busybox" \
    "container running \`sleep 3600\` (checked RUNNING, untimed), StopContainer (timeout 0)+RemoveContainer," \
    "StopPodSandbox+RemovePodSandbox. Images are local (never pulled): busybox is Debian's busybox-static" \
    "in an OCI image built with umoci; containerd's sandbox image ($PAUSE_IMAGE) is a static pause" \
    "program of ours (bench/pause/pause.c: sleeps, exits on SIGINT/SIGTERM, reaps children) -" \
    "spawnlet starts no pause process. Raw samples: bench/results/*.json of the run."
  echo
  echo "Why runc for both: crun $(crun --version | head -1 | awk '{print $3}') refuses this hybrid" \
    "cgroup layout (\"cgroups in hybrid mode not supported\"); containerd's shim calls the runtime" \
    "binary directly, so crun there would need a wrapper that hides /sys/fs/cgroup/unified in a" \
    "private mount namespace on every call, which would measure the wrapper as much as containerd."
  echo
  echo "Reproduce (root, from the repository root):"
  echo
  echo '```'
  echo "PODS=$PODS WARMUP=$WARMUP ORDER=$ORDER bench/cri-latency.sh"
  echo '```'
}

write_docs() {
  local docs=$REPO/docs/BENCHMARKS.md new
  new=$(section)
  printf '%s\n' "$new"
  [[ ${NO_DOCS:-} == 1 ]] && { log "NO_DOCS=1: docs/BENCHMARKS.md left alone"; return; }
  mkdir -p "$REPO/docs"
  [[ -f $docs ]] || printf '# Benchmarks\n\nMeasured figures, always next to a reference measured in the same run.\n' >"$docs"
  # replace the section between the markers, or append it
  replace_docs_section "$docs" cri-latency "$new"
  log "wrote the CRI latency section of $docs"
}

# ---------------------------------------------------------------- main

BENCH_JAR=$REPO/bench/target/spawnlet-bench.jar
RUN_STARTED=$(date -u +%Y-%m-%dT%H:%M:%S)

# The runtime set-up above is shared: bench/streaming/run.sh sources this file for it (and skips
# this main part).
cri_latency_main() {
  [[ ${KEEP:-} == 1 ]] || trap 'status=$?; trap - EXIT INT TERM; log "cleaning up"; cleanup_all; exit $status' EXIT INT TERM

  stage "clean up earlier runs" cleanup_all
  mkdir -p "$WORK" "$RESULTS"
  stage "build (mvn install)" build
  stage "images (busybox, pause)" images
  IFS=, read -r -a runtimes <<<"$ORDER"
  for runtime in "${runtimes[@]}"; do
    [[ -n ${BRIDGE[$runtime]:-} ]] || die "unknown runtime '$runtime' in ORDER (containerd, spawnlet)"
    stage "$runtime: start" "start_$runtime"
  done
  stage "measure: $PODS pods (+$WARMUP warm-up) per runtime, interleaved" measure "${runtimes[@]}"
  # all daemons stop before any clean-up, which ends whatever is left under $WORK, theirs or not
  for runtime in "${runtimes[@]}"; do stage "$runtime: stop" stop_daemon "$runtime"; done
  for runtime in "${runtimes[@]}"; do stage "$runtime: clean up" cleanup_runtime "$runtime"; done
  stage "report" write_docs
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  cri_latency_main
fi
