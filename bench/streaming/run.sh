#!/usr/bin/env bash
# Streaming (exec, port-forward) of spawnlet next to containerd's CRI streaming server, measured in
# one run on this machine, through the same client: crictl.
#
#   sudo bench/streaming/run.sh        # from the repository root; needs root
#
# Both daemons run side by side with private state, set up exactly as bench/cri-latency.sh does
# (which this sources: same images, CNI, runc, cgroup parent, clean-up). In each runtime one pod
# with one busybox container; then, alternating between the runtimes round by round:
#   - exec: `crictl exec CTR true`, one process each time (CRI Exec + streaming upgrade + the exec
#     in the container + exit status), ROUNDS times;
#   - echo: one `crictl exec -i CTR cat` kept open, one line written and read back, ECHOES times
#     per round (the round trip of a persistent session: stdin stream -> process -> stdout stream);
#   - port-forward: `crictl port-forward POD L:9000`, an MB-MiB file downloaded with curl from
#     busybox httpd in the pod, THROUGHPUT_ROUNDS times.
# Then it writes the "Streaming" section of docs/BENCHMARKS.md (NO_DOCS=1: print only).
#
# Environment: ROUNDS=40 ECHOES=200 MB=200 THROUGHPUT_ROUNDS=5 SKIP_BUILD=1 NO_DOCS=1
#   CRICTL=/var/cache/spawnlet/go-tools/cri-tools-v1.34.0/crictl WORK=/tmp/spawnlet-bench-streaming
set -euo pipefail

WORK=${WORK:-/tmp/spawnlet-bench-streaming}
ORDER=containerd,spawnlet
# shellcheck source=../cri-latency.sh
source "$(dirname "${BASH_SOURCE[0]}")/../cri-latency.sh"

ROUNDS=${ROUNDS:-40}
ECHOES=${ECHOES:-200}
MB=${MB:-200}
THROUGHPUT_ROUNDS=${THROUGHPUT_ROUNDS:-5}
CRICTL=${CRICTL:-/var/cache/spawnlet/go-tools/cri-tools-v1.34.0/crictl}
[[ -x $CRICTL ]] || die "crictl missing at $CRICTL (scripts/setup.sh builds it; or set CRICTL)"
declare -A POD CTR

crictl_of() { # RUNTIME ARGS...
  local runtime=$1; shift
  "$CRICTL" --timeout 60s -r "unix://$WORK/$runtime/cri.sock" "$@"
}

start_pod() { # RUNTIME: one pod, one container serving an MB-MiB file over HTTP on 9000
  local runtime=$1 dir=$WORK/$1/streaming
  mkdir -p "$dir/logs"
  jq -n --arg logs "$dir/logs" --arg uid "$(cat /proc/sys/kernel/random/uuid)" \
    --arg cg "$CGROUP_PARENT" '{metadata: {name: "stream-bench", namespace: "spawnlet-bench",
      uid: $uid, attempt: 0}, log_directory: $logs, linux: {cgroup_parent: $cg}}' >"$dir/pod.json"
  jq -n --arg image "$IMAGE" --arg mb "$MB" '{metadata: {name: "bench"}, image: {image: $image},
      command: ["sh", "-c", ("mkdir -p /www && dd if=/dev/zero of=/www/zero bs=1048576 count="
        + $mb + " 2>/dev/null && exec httpd -f -p 9000 -h /www")],
      log_path: "bench.log"}' >"$dir/ctr.json"
  POD[$runtime]=$(crictl_of "$runtime" runp "$dir/pod.json")
  CTR[$runtime]=$(crictl_of "$runtime" create --no-pull "${POD[$runtime]}" "$dir/ctr.json" "$dir/pod.json")
  crictl_of "$runtime" start "${CTR[$runtime]}" >/dev/null
}

now() { echo "$EPOCHREALTIME"; }
ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.3f\n", (b-a)*1000}'; }

exec_once() { # RUNTIME -> ms of one `crictl exec CTR true`
  local start
  start=$(now)
  crictl_of "$1" exec "${CTR[$1]}" true
  ms_since "$start"
}

echo_round() { # RUNTIME: ECHOES round trips through one `crictl exec -i CTR cat`, ms each
  local runtime=$1 i start line
  coproc ECHO { crictl_of "$runtime" exec -i "${CTR[$runtime]}" cat; }
  # the first line also waits for the session to open: not counted
  echo warm >&"${ECHO[1]}"
  read -r line <&"${ECHO[0]}"
  for ((i = 0; i < ECHOES; i++)); do
    start=$(now)
    echo "ping-$i" >&"${ECHO[1]}"
    read -r line <&"${ECHO[0]}"
    [[ $line == "ping-$i" ]] || die "$runtime echo: sent ping-$i, got '$line'"
    ms_since "$start"
  done
  exec {ECHO[1]}>&-
  wait "$ECHO_PID" || true
}

throughput_once() { # RUNTIME -> MB/s of an MB-MiB download from the pod through crictl port-forward
  local runtime=$1 port log pid result
  port=$(( (RANDOM % 20000) + 30000 ))
  log=$WORK/$runtime/streaming/pf.log
  crictl_of "$runtime" port-forward "${POD[$runtime]}" "$port:9000" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q "Forwarding from" "$log" && break; sleep 0.1; done
  grep -q "Forwarding from" "$log" || die "$runtime port-forward did not start: $(cat "$log")"
  result=$(curl -sS -o /dev/null -w '%{size_download} %{time_total}' "http://127.0.0.1:$port/zero") \
    || die "$runtime port-forward: curl failed: $(grep -v level=warn "$log")"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  [[ ${result% *} == $((MB * 1024 * 1024)) ]] || die "$runtime port-forward: got ${result% *} bytes, wanted $MB MiB"
  awk -v b="${result% *}" -v s="${result#* }" 'BEGIN{printf "%.1f\n", b / 1e6 / s}'
}

percentile() { # P FILE -> nearest-rank percentile of the numbers in FILE
  sort -g "$2" | awk -v p="$1" '{v[NR]=$1} END{i=int((p*NR+99)/100); if(i<1)i=1; print v[i]}'
}
median() { percentile 50 "$1"; }

measure_streaming() {
  local round runtime first second
  mkdir -p "$WORK/results"
  for runtime in containerd spawnlet; do
    : >"$WORK/results/$runtime.exec"; : >"$WORK/results/$runtime.echo"; : >"$WORK/results/$runtime.mbps"
    exec_once "$runtime" >/dev/null # warm-up, not counted
  done
  for ((round = 0; round < ROUNDS; round++)); do
    if ((round % 2 == 0)); then first=containerd second=spawnlet; else first=spawnlet second=containerd; fi
    for runtime in $first $second; do exec_once "$runtime" >>"$WORK/results/$runtime.exec"; done
  done
  for round in 0 1; do
    if ((round % 2 == 0)); then first=containerd second=spawnlet; else first=spawnlet second=containerd; fi
    for runtime in $first $second; do echo_round "$runtime" >>"$WORK/results/$runtime.echo"; done
  done
  for ((round = 0; round < THROUGHPUT_ROUNDS; round++)); do
    if ((round % 2 == 0)); then first=containerd second=spawnlet; else first=spawnlet second=containerd; fi
    for runtime in $first $second; do throughput_once "$runtime" >>"$WORK/results/$runtime.mbps"; done
  done
}

streaming_section() {
  local r="$WORK/results" c s
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
  echo "## Streaming"
  echo
  echo "crictl $("$CRICTL" --version | awk '{print $3}') against each runtime's CRI streaming server" \
    "(spawnlet's netty server; containerd's, the kubelet's streaming library), both daemons side by" \
    "side, the runtimes alternating round by round. Ratio = spawnlet / containerd."
  echo
  machine_facts
  echo
  echo "| measure | containerd | spawnlet | ratio | target |"
  echo "|---|---:|---:|---:|---|"
  c=$(median "$r/containerd.exec"); s=$(median "$r/spawnlet.exec")
  echo "| \`crictl exec CTR true\`, p50 ms ($ROUNDS each) | $c | $s | $(ratio "$s" "$c") | ≤ 1.2 |"
  c=$(percentile 99 "$r/containerd.exec"); s=$(percentile 99 "$r/spawnlet.exec")
  echo "| \`crictl exec CTR true\`, p99 ms | $c | $s | $(ratio "$s" "$c") | |"
  c=$(median "$r/containerd.echo"); s=$(median "$r/spawnlet.echo")
  echo "| echo round trip in one \`crictl exec -i CTR cat\`, p50 ms ($((2 * ECHOES)) each) | $c | $s | $(ratio "$s" "$c") | ≤ 1.2 |"
  c=$(percentile 99 "$r/containerd.echo"); s=$(percentile 99 "$r/spawnlet.echo")
  echo "| echo round trip, p99 ms | $c | $s | $(ratio "$s" "$c") | |"
  c=$(median "$r/containerd.mbps"); s=$(median "$r/spawnlet.mbps")
  echo "| \`crictl port-forward\`, $MB MiB pod → client, median MB/s ($THROUGHPUT_ROUNDS each) | $c | $s | $(ratio "$s" "$c") | ≥ 0.8 |"
  echo
  echo "The download is one HTTP GET (curl) of an $MB MiB file served by busybox httpd in the pod." \
    "Times include crictl's own start (a Go process per \`crictl exec\`), the same for both."
  echo
  echo "Reproduce (root, from the repository root): \`ROUNDS=$ROUNDS ECHOES=$ECHOES MB=$MB" \
    "THROUGHPUT_ROUNDS=$THROUGHPUT_ROUNDS bench/streaming/run.sh\`."
}

write_streaming_docs() {
  local docs=$REPO/docs/BENCHMARKS.md new
  new=$(streaming_section)
  printf '%s\n' "$new"
  [[ ${NO_DOCS:-} == 1 ]] && { log "NO_DOCS=1: docs/BENCHMARKS.md left alone"; return; }
  replace_docs_section "$docs" streaming "$new"
  log "wrote the Streaming section of $docs"
}

[[ ${KEEP:-} == 1 ]] || trap 'status=$?; trap - EXIT INT TERM; log "cleaning up"; cleanup_all; exit $status' EXIT INT TERM
stage "clean up earlier runs" cleanup_all
mkdir -p "$WORK" "$RESULTS"
stage "build (mvn install)" build
stage "images (busybox, pause)" images
for runtime in containerd spawnlet; do
  stage "$runtime: start" "start_$runtime"
  stage "$runtime: pod" start_pod "$runtime"
done
stage "measure" measure_streaming
for runtime in containerd spawnlet; do
  crictl_of "$runtime" stopp "${POD[$runtime]}" >/dev/null || true
  crictl_of "$runtime" rmp "${POD[$runtime]}" >/dev/null || true
  stage "$runtime: stop" stop_daemon "$runtime"
done
for runtime in containerd spawnlet; do stage "$runtime: clean up" cleanup_runtime "$runtime"; done
stage "report" write_streaming_docs
