#!/usr/bin/env bash
# Node agent overhead on a real control plane (scripts/control-plane.sh), as root:
#
#   bench/agent.sh              # from the repository root, after `mvn -DskipTests install`
#
# 1. `kubectl apply` of PODS busybox pods → all Ready, through `spawnlet agent` (a separate
#    process from the CRI daemon, so its RSS and CPU are its own), next to the same number of
#    pods created on the CRI alone (crictl runp + create + start, all at once, same daemon).
# 2. TOTAL pods on the node (half of the new ones socket-activated and asleep): the agent's RSS
#    (VmRSS) and CPU (utime+stime over SAMPLE seconds, % of one core).
# Targets (issue 7): agent overhead ≤ 10 % of the CRI time, RSS ≤ 300 MiB at 200 pods.
# It is a benchmark, never part of the test suite; everything it makes lives under $WORK and is
# removed at the end (pods, daemon, agent, control plane).
#
# Environment: PODS=50 TOTAL=200 SAMPLE=60 WORK=/tmp/spawnlet-agent-bench NO_DOCS=1
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${WORK:-/tmp/spawnlet-agent-bench}
PODS=${PODS:-50}
TOTAL=${TOTAL:-200}
SAMPLE=${SAMPLE:-60}
K8S_TOOLS=${SPAWNLET_K8S_TOOLS:-/var/cache/spawnlet/go-tools/kubernetes-v1.34.4}
IMAGES=${SPAWNLET_TEST_IMAGES:-/var/cache/spawnlet/test-images/v2}
CRICTL=${SPAWNLET_CRICTL:-/var/cache/spawnlet/go-tools/cri-tools-v1.34.0/crictl}
IMAGE=docker.io/library/busybox:latest
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
SPAWNLET=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$REPO/dist/target/spawnlet.jar")
export SPAWNLET_K8S_TOOLS=$K8S_TOOLS
KUBECTL=("$K8S_TOOLS/kubectl" --kubeconfig "$WORK/cluster/admin.kubeconfig")
CRI=("$CRICTL" --runtime-endpoint "unix://$WORK/cri.sock" --image-endpoint "unix://$WORK/cri.sock")

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

cleanup() {
  set +e
  [[ -n ${AGENT_PID:-} ]] && kill "$AGENT_PID" && wait "$AGENT_PID"
  if [[ -S $WORK/cri.sock ]]; then "${CRI[@]}" rmp -fa >/dev/null 2>&1; fi
  [[ -n ${DAEMON_PID:-} ]] && kill "$DAEMON_PID" && wait "$DAEMON_PID"
  bash "$REPO/scripts/control-plane.sh" stop "$WORK/cluster" >/dev/null 2>&1
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
until [[ -S $WORK/cri.sock ]]; do sleep 0.2; done
"${SPAWNLET[@]}" agent --kubeconfig "$WORK/cluster/node.kubeconfig" --node-name "$NODE" \
  --cri-socket "$WORK/cri.sock" --root "$WORK/agent" --pod-log-dir "$WORK/logs" \
  >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
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

echo "1. $PODS pods through the agent…"
for i in $(seq 1 "$PODS"); do pod_manifest "agent-$i"; done >"$WORK/pods.yaml"
start=$(now)
"${KUBECTL[@]}" apply -f "$WORK/pods.yaml" >/dev/null
until [[ $(ready_count) -ge $PODS ]]; do sleep 0.2; done
AGENT_SECONDS=$(seconds "$start" "$(now)")

echo "   the same $PODS pods on the CRI alone…"
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
  ) &
done
wait_jobs() { for job in $(jobs -p); do [[ $job == "$DAEMON_PID" || $job == "$AGENT_PID" ]] || wait "$job"; done; }
wait_jobs
CRI_SECONDS=$(seconds "$start" "$(now)")
"${CRI[@]}" pods --namespace bench -q | xargs -r "${CRI[@]}" rmp -f >/dev/null

echo "2. $TOTAL pods on the node, half of the new ones asleep…"
more=$((TOTAL - PODS))
for i in $(seq 1 "$more"); do
  if ((i % 2)); then pod_manifest "idle-$i" activated; else pod_manifest "idle-$i"; fi
done >"$WORK/more.yaml"
"${KUBECTL[@]}" apply -f "$WORK/more.yaml" >/dev/null
until [[ $(ready_count) -ge $TOTAL ]]; do sleep 1; done
sleep 10 # let the burst settle before sampling the steady state
ticks() { awk '{ print $14 + $15 }' "/proc/$AGENT_PID/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks)
sleep "$SAMPLE"
t1=$(ticks)
CPU=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v s="$SAMPLE" 'BEGIN { printf "%.1f", 100 * (b - a) / hz / s }')
RSS=$(awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$AGENT_PID/status")
SLEEPING=$("${SPAWNLET[@]}" pods --socket "$WORK/cri.sock" 2>/dev/null | grep -c sleeping || true)

OVERHEAD=$(awk -v a="$AGENT_SECONDS" -v c="$CRI_SECONDS" 'BEGIN { printf "%.0f", 100 * (a - c) / c }')
REPORT=$(
  cat <<EOF
## Node agent (bench/agent.sh)

$(date -u +%Y-%m-%d), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)),
$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), load average at the start
$(cut -d' ' -f1 /proc/loadavg) (a machine shared with other work: figures are indicative).

| | figure | target |
|---|---|---|
| $PODS busybox pods, \`kubectl apply\` → all Ready (agent) | ${AGENT_SECONDS} s | |
| the same pods on the CRI alone (crictl runp/create/start, all at once) | ${CRI_SECONDS} s | |
| agent overhead | ${OVERHEAD} % | ≤ 10 % |
| agent RSS with $TOTAL pods ($SLEEPING asleep) | ${RSS} MiB | ≤ 300 MiB |
| agent CPU with $TOTAL pods, steady state over ${SAMPLE} s | ${CPU} % of one core | |

The agent time includes the apiserver, the scheduler and kubectl's watch; both runs use the same
daemon, image and CNI network.
EOF
)
echo "$REPORT"
if [[ -z ${NO_DOCS:-} ]]; then
  printf '\n%s\n' "$REPORT" >>"$REPO/docs/BENCHMARKS.md"
fi
