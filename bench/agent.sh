#!/usr/bin/env bash
# Node agent overhead on a real control plane (scripts/control-plane.sh), as root:
#
#   bench/agent.sh              # from the repository root, after `mvn -DskipTests install`
#
# 1. `kubectl apply` of PODS busybox pods → all Ready, through `spawnlet agent` (a separate
#    process from the CRI daemon, so its RSS and CPU are its own), next to the same number of
#    pods created on the CRI alone (crictl runp + create + start, all at once, same daemon).
# 2. TOTAL pods on the node (ASLEEP of them socket-activated and asleep): the agent's RSS
#    (VmRSS) and CPU (utime+stime over SAMPLE seconds, % of one core).
# Targets (issue 7): agent overhead ≤ 10 % of the CRI time, RSS ≤ 300 MiB at 200 pods.
# It is a benchmark, never part of the test suite; everything it makes lives under $WORK and is
# removed at the end (pods, daemon, agent, control plane).
#
# Environment: PODS=50 TOTAL=200 ASLEEP=TOTAL/2 SAMPLE=60 READY_TIMEOUT=1800 AGENT_JAVA_OPTS= WORK=/tmp/spawnlet-agent-bench NO_DOCS=1
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/docs-section.sh
source "$REPO/bench/lib/docs-section.sh"
WORK=${WORK:-/tmp/spawnlet-agent-bench}
PODS=${PODS:-50}
TOTAL=${TOTAL:-200}
SAMPLE=${SAMPLE:-60}
ASLEEP=${ASLEEP:-$((TOTAL / 2))}
LOAD_AT_START=$(cut -d' ' -f1 /proc/loadavg)
# The node's pod capacity: the kubelet's default 110 would leave the scheduler holding the rest.
MAX_PODS=$((TOTAL + 10 > 110 ? TOTAL + 10 : 110))
READY_TIMEOUT=${READY_TIMEOUT:-1800}
K8S_TOOLS=${SPAWNLET_K8S_TOOLS:-/var/cache/spawnlet/go-tools/kubernetes-v1.34.4}
IMAGES=${SPAWNLET_TEST_IMAGES:-/var/cache/spawnlet/test-images/v2}
CRICTL=${SPAWNLET_CRICTL:-/var/cache/spawnlet/go-tools/cri-tools-v1.34.0/crictl}
IMAGE=docker.io/library/busybox:latest
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
SPAWNLET=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$REPO/dist/target/spawnlet.jar")
export SPAWNLET_K8S_TOOLS=$K8S_TOOLS
KUBECTL=("$K8S_TOOLS/kubectl" --kubeconfig "$WORK/cluster/admin.kubeconfig")
# crictl's default per-call timeout (2 s) is shorter than a RunPodSandbox in a burst of 50 on 2 cores.
CRI=("$CRICTL" --timeout 600s --runtime-endpoint "unix://$WORK/cri.sock" --image-endpoint "unix://$WORK/cri.sock")

now() { date +%s.%N; }
# fail MESSAGE: the message and the last lines of the agent's and the daemon's logs (the clean-up
# removes $WORK, logs included).
fail() {
  echo "bench/agent.sh: $1" >&2
  for log in "$WORK/agent.log" "$WORK/daemon.log" "$WORK/crictl.log" "$WORK/kubectl.log"; do
    [[ -s $log ]] && { echo "--- last lines of $log" >&2; tail -n 30 "$log" >&2; }
  done
  exit 1
}
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

cleanup() {
  set +e
  [[ -n ${AGENT_PID:-} ]] && kill "$AGENT_PID" && wait "$AGENT_PID"
  if [[ -S $WORK/cri.sock ]]; then "${CRI[@]}" rmp -fa >/dev/null 2>&1; fi
  [[ -n ${DAEMON_PID:-} ]] && kill "$DAEMON_PID" && wait "$DAEMON_PID"
  bash "$REPO/scripts/control-plane.sh" stop "$WORK/cluster" >/dev/null 2>&1
  # Whatever still names $WORK (a conmon whose daemon died before `rmp`), with its children: a
  # killed conmon alone would leave its container running (killing a container's init, PID 1 of
  # its namespace, ends the rest of it).
  local pid
  for pid in $(pgrep -f -- "$WORK/"); do
    pkill -9 -P "$pid" 2>/dev/null
    kill -9 "$pid" 2>/dev/null
  done
  grep -o " $WORK[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
cleanup # leftovers of an interrupted run
set -e
mkdir -p "$WORK"

echo "control plane…"
bash "$REPO/scripts/control-plane.sh" start "$WORK/cluster" >"$WORK/control-plane.log"
NODE=$(sed -n 's/^NODE_NAME=//p' "$WORK/cluster/env")

"${SPAWNLET[@]}" image import "$IMAGES/busybox" --name "$IMAGE" --root "$WORK/root" >/dev/null
"${SPAWNLET[@]}" cri --socket "$WORK/cri.sock" --root "$WORK/root" --run-root "$WORK/run" \
  --cni-conf-dir "$WORK/cni" --cni-bridge spbench-agt --cni-subnet 10.236.0.0/16 \
  >"$WORK/daemon.log" 2>&1 &
DAEMON_PID=$!
deadline=$((SECONDS + 120))
until [[ -S $WORK/cri.sock ]]; do
  ((SECONDS < deadline)) || fail "the CRI daemon made no socket within 120 s"
  sleep 0.2
done
# shellcheck disable=SC2086 # AGENT_JAVA_OPTS is a list of words on purpose
"$JAVA_HOME/bin/java" ${AGENT_JAVA_OPTS:-} "${SPAWNLET[@]:1}" agent --kubeconfig "$WORK/cluster/node.kubeconfig" --node-name "$NODE" \
  --cri-socket "$WORK/cri.sock" --root "$WORK/agent" --pod-log-dir "$WORK/logs" \
  --max-pods "$MAX_PODS" \
  >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
# `kubectl wait` fails at once on a node that is not registered yet: wait for the object first.
deadline=$((SECONDS + 300))
until "${KUBECTL[@]}" get "node/$NODE" >/dev/null 2>&1; do
  ((SECONDS < deadline)) || fail "node $NODE did not register within 300 s"
  kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent exited before node $NODE registered"
  sleep 1
done
"${KUBECTL[@]}" wait --for=condition=Ready "node/$NODE" --timeout=300s >/dev/null

# pod_manifest NAME [activated]
pod_manifest() {
  local annotations=""
  if [[ ${2:-} == activated ]]; then
    annotations='  annotations: {spawnlet.io/activation: socket, spawnlet.io/activation-ports: "8080/tcp"}'
  fi
  cat <<EOF
---
apiVersion: v1
kind: Pod
metadata:
  name: $1
  labels: {bench: agent}
$annotations
spec:
  terminationGracePeriodSeconds: 1
  tolerations: [{key: spawnlet.io/system-containers, operator: Exists}]
  containers:
  - {name: main, image: $IMAGE, imagePullPolicy: Never, command: [sleep, "86400"], ports: [{containerPort: 8080}]}
EOF
}

ready_count() {
  "${KUBECTL[@]}" get pods -l bench=agent \
    -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
    grep -c True || true
}

# wait_ready COUNT: until COUNT bench pods are Ready, within READY_TIMEOUT seconds. One kubectl
# watch writes each pod's Ready status to a file that awk reads: polling with a kubectl process a
# time would take a good part of the 2 cores the agent is measured on, and `kubectl wait` on many
# pods waits for them one after the other.
wait_ready() {
  local deadline=$((SECONDS + READY_TIMEOUT)) watch_pid
  "${KUBECTL[@]}" get pods -l bench=agent --watch \
    -o jsonpath='{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}' \
    >"$WORK/ready.watch" 2>>"$WORK/kubectl.log" &
  watch_pid=$!
  until awk -v n="$1" '{ ready[$1] = $2 } END { for (p in ready) c += ready[p] == "True"; exit !(c >= n) }' \
    "$WORK/ready.watch"; do
    if ((SECONDS >= deadline)) || ! kill -0 "$AGENT_PID" 2>/dev/null; then
      kill "$watch_pid"
      fail "$(ready_count) of $1 pods Ready after $((SECONDS - deadline + READY_TIMEOUT)) s (agent alive: $(kill -0 "$AGENT_PID" 2>/dev/null && echo yes || echo no))"
    fi
    sleep 0.2
  done
  kill "$watch_pid"
  wait "$watch_pid" 2>/dev/null || true
}

# 1. The CRI alone first, then the agent: each burst on a node with no other bench pods.
echo "1. $PODS pods on the CRI alone…"
mkdir -p "$WORK/crictl"
for i in $(seq 1 "$PODS"); do
  cat >"$WORK/crictl/pod-$i.json" <<EOF
{"metadata": {"name": "cri-$i", "namespace": "bench", "uid": "cri-$i-$$", "attempt": 0},
 "log_directory": "$WORK/logs/cri-$i", "linux": {}}
EOF
  cat >"$WORK/crictl/ctr-$i.json" <<EOF
{"metadata": {"name": "main"}, "image": {"image": "$IMAGE"}, "command": ["sleep", "86400"],
 "log_path": "main/0.log", "linux": {}}
EOF
done
start=$(now)
for i in $(seq 1 "$PODS"); do
  (
    pod=$("${CRI[@]}" runp "$WORK/crictl/pod-$i.json")
    ctr=$("${CRI[@]}" create "$pod" "$WORK/crictl/ctr-$i.json" "$WORK/crictl/pod-$i.json")
    "${CRI[@]}" start "$ctr" >/dev/null
  ) 2>>"$WORK/crictl.log" &
done
failed=0
for job in $(jobs -p); do
  [[ $job == "$DAEMON_PID" || $job == "$AGENT_PID" ]] || wait "$job" || failed=$((failed + 1))
done
((failed == 0)) || fail "$failed of $PODS pods failed on the CRI alone"
CRI_SECONDS=$(seconds "$start" "$(now)")
running=$("${CRI[@]}" ps --state running -q 2>>"$WORK/crictl.log" | wc -l)
((running >= PODS)) || fail "$running of $PODS containers running on the CRI alone (see $WORK/crictl.log)"
"${CRI[@]}" pods --namespace bench -q 2>>"$WORK/crictl.log" |
  xargs -r "${CRI[@]}" rmp -f >/dev/null 2>>"$WORK/crictl.log"

echo "   the same $PODS pods through the agent…"
for i in $(seq 1 "$PODS"); do pod_manifest "agent-$i"; done >"$WORK/pods.yaml"
start=$(now)
"${KUBECTL[@]}" apply -f "$WORK/pods.yaml" >/dev/null
wait_ready "$PODS"
AGENT_SECONDS=$(seconds "$start" "$(now)")

# 2. Up to TOTAL pods, ASLEEP of the new ones socket-activated (they sleep until a connection).
more=$((TOTAL - PODS))
asleep=$((ASLEEP < more ? ASLEEP : more))
echo "2. $TOTAL pods on the node, $asleep of them socket-activated…"
for i in $(seq 1 "$more"); do
  if ((i <= asleep)); then pod_manifest "idle-$i" activated; else pod_manifest "idle-$i"; fi
done >"$WORK/more.yaml"
start=$(now)
"${KUBECTL[@]}" apply -f "$WORK/more.yaml" >/dev/null
wait_ready "$TOTAL"
MORE_SECONDS=$(seconds "$start" "$(now)")
sleep 10 # let the burst settle before sampling the steady state
ticks() { awk '{ print $14 + $15 }' "/proc/$AGENT_PID/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks)
sleep "$SAMPLE"
t1=$(ticks)
CPU=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$SAMPLE" 'BEGIN { printf "%.1f", 100 * (b - a) / hz / s }')
RSS=$(awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$AGENT_PID/status")
HWM=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$AGENT_PID/status")
SLEEPING=$("${SPAWNLET[@]}" pods --socket "$WORK/cri.sock" 2>/dev/null | grep -c sleeping || true)

OVERHEAD=$(awk -v a="$AGENT_SECONDS" -v c="$CRI_SECONDS" 'BEGIN { printf "%.0f", 100 * (a - c) / c }')
met() { if awk -v v="$1" -v t="$2" 'BEGIN { exit !(v <= t) }'; then echo yes; else echo "**no**"; fi; }
git -C "$REPO" update-index -q --refresh >/dev/null 2>&1 || true # stat-only changes are no changes
COMMIT=$(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" diff --quiet HEAD 2>/dev/null || echo -dirty)
REPORT=$(
  cat <<EOF
## Node agent

\`spawnlet agent\` (a process of its own, talking to the CRI daemon over its socket) as the node of
a real control plane (scripts/control-plane.sh: etcd, kube-apiserver, kube-controller-manager and
kube-scheduler, $(basename "$K8S_TOOLS"), on loopback), next to the same pods created on the same
daemon by direct CRI calls, in one run.

- Date: $(date -u +%Y-%m-%dT%H:%MZ)
- Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) memory, kernel $(uname -r), load average $LOAD_AT_START at the start (shared with other engineers' builds and tests: figures are indicative)
- spawnlet: $COMMIT; agent JVM: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1), default heap settings${AGENT_JAVA_OPTS:+ plus $AGENT_JAVA_OPTS}

Method:
- CRI alone: $PODS busybox pods (\`sleep 86400\`), each \`crictl runp\` + \`create\` + \`start\`, all $PODS at once; timed from the first call until the last \`start\` returned; then removed.
- Agent: the same $PODS pods as one \`kubectl apply\` of $PODS Pod objects (imagePullPolicy Never, the image already in the daemon's store); timed from \`kubectl apply\` until all $PODS have the condition Ready=True (seen by one \`kubectl get --watch\`). This includes the apiserver, kube-scheduler's binding, the agent's informer, its CRI calls and its status patches.
- The agent runs with \`--max-pods $MAX_PODS\` (the default, as the kubelet's, is 110).
- Then $more more pods, $asleep of them socket-activated (\`spawnlet.io/activation: socket\`, port 8080, asleep until a connection), $TOTAL on the node in all ($MORE_SECONDS s from that apply to all Ready); after 10 s of rest the agent's VmRSS, and its CPU (utime + stime from /proc) over $SAMPLE s.

| measure | figure | target | met |
|---|---:|---|---|
| $PODS pods, CRI alone (all started) | ${CRI_SECONDS} s | | |
| $PODS pods, \`kubectl apply\` → all Ready through the agent | ${AGENT_SECONDS} s | | |
| agent overhead ((agent − CRI) / CRI) | ${OVERHEAD} % | ≤ 10 % | $(met "$OVERHEAD" 10) |
| agent RSS with $TOTAL pods ($SLEEPING asleep) | ${RSS} MiB (peak ${HWM}) | ≤ 300 MiB | $(met "$RSS" 300) |
| agent CPU with $TOTAL pods, steady state over ${SAMPLE} s | ${CPU} % of one core | | |

Reproduce (root, from the repository root, after \`mvn -B -q -DskipTests install\`):

\`\`\`
PODS=$PODS TOTAL=$TOTAL ASLEEP=$ASLEEP SAMPLE=$SAMPLE bench/agent.sh
\`\`\`
EOF
)
echo "$REPORT"
if [[ -z ${NO_DOCS:-} ]]; then
  docs=$REPO/docs/BENCHMARKS.md
  replace_docs_section "$docs" agent "$REPORT"
  echo "wrote the Node agent section of $docs"
fi
