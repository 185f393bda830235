#!/usr/bin/env bash
# An ordinary Kubernetes node for the e2e control plane (scripts/control-plane.sh): the upstream
# kubelet v1.34 (built by scripts/k8s-tools.sh) on Debian's containerd 1.6, both private to DIR:
#   scripts/kubelet-node.sh pause-image REGISTRY_REF     build bench/pause/pause.c into an image
#                                                        and push it (plain HTTP) to REGISTRY_REF
#   scripts/kubelet-node.sh start DIR --name NAME --kubeconfig FILE --ca FILE --registry HOST:PORT
#                                     --pause-image REF --bridge NAME --subnet CIDR
#   scripts/kubelet-node.sh stop DIR                     stop both and remove every trace
# containerd: own root, state and socket under DIR, CRI plugin with runc and cgroupfs, a CNI
# bridge + host-local conflist in its own conf dir (/usr/lib/cni plugins, the given bridge and
# subnet, no masquerading so no iptables rules), REGISTRY pulled over plain HTTP. kubelet: config
# file under DIR (cgroupfs, cgroup root /kubelet-NAME in every hierarchy, swap and cgroup v1
# tolerated: this host is hybrid and PID 1 is not systemd), client CA authentication, root and pod
# logs under DIR, free loopback ports. Settings: DIR/env; logs: DIR/logs/{containerd,kubelet}.log.
# `stop` touches only what `start` made: its processes, mounts under DIR, the netns holding
# addresses of its subnet, its bridge, its cgroups, and the kernel tunables kubelet set (restored).
set -euo pipefail

SPAWNLET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=k8s-tools.sh
source "$SPAWNLET_ROOT/scripts/k8s-tools.sh"

KUBELET=${SPAWNLET_KUBELET:-$KUBERNETES_DIR/kubelet}
CNI_PLUGINS=/usr/lib/cni
READY_TIMEOUT_SECS=${SPAWNLET_KUBELET_NODE_TIMEOUT:-120}
# What kubelet writes when protectKernelDefaults is off; saved at start, restored at stop.
KERNEL_TUNABLES=(vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops
  kernel/keys/root_maxkeys kernel/keys/root_maxbytes)

usage() {
  sed -n '3,8p' "${BASH_SOURCE[0]}" | sed 's/^# //' >&2
  exit 2
}

# ---- the pause image ------------------------------------------------------------------------

# No public registry is reachable here: containerd's sandbox image is our static pause binary.
pause_image() {
  local ref=$1 work
  for tool in cc umoci skopeo; do
    command -v "$tool" >/dev/null || die "$tool is missing (Debian: gcc umoci skopeo)"
  done
  work=$(mktemp -d /tmp/spawnlet-pause.XXXXXX)
  # shellcheck disable=SC2064 # expand now
  trap "rm -rf '$work'" RETURN
  cc -static -Os -o "$work/pause" "$SPAWNLET_ROOT/bench/pause/pause.c"
  umoci init --layout "$work/layout"
  umoci new --image "$work/layout:latest"
  umoci unpack --image "$work/layout:latest" "$work/bundle" >/dev/null
  cp "$work/pause" "$work/bundle/rootfs/pause"
  umoci repack --image "$work/layout:latest" "$work/bundle"
  umoci config --image "$work/layout:latest" --os linux --architecture amd64 \
    --config.entrypoint /pause --clear=config.cmd
  skopeo copy --quiet --dest-tls-verify=false "oci:$work/layout:latest" "docker://$ref"
  log "pushed the pause image to $ref"
}

# ---- processes ------------------------------------------------------------------------------

# running_pid NAME: the pid of DIR's containerd or kubelet, if it runs.
running_pid() {
  local file=$DIR/run/$1.pid pid
  [[ -s $file ]] || return 1
  pid=$(<"$file")
  [[ -r /proc/$pid/cmdline ]] || return 1
  [[ $(tr '\0' ' ' <"/proc/$pid/cmdline") == *"$DIR/"* ]] || return 1
  echo "$pid"
}

launch() {
  local name=$1
  shift
  setsid "$@" </dev/null >>"$DIR/logs/$name.log" 2>&1 &
  echo $! >"$DIR/run/$name.pid"
  log "started $name (pid $!, log $DIR/logs/$name.log)"
}

# alive PID: the process we just launched still runs. Not running_pid's argv check: while the
# child is exec'ing the daemon, /proc/PID/cmdline can read empty for a moment, which took a
# starting containerd for one that had exited. A zombie (exited, not yet reaped) is not alive.
alive() {
  local state
  # The state follows the command name, which is in parentheses and may hold spaces.
  state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  state=${state%% *}
  [[ -n $state && $state != Z && $state != X ]]
}

await() {
  local name=$1 deadline=$((SECONDS + READY_TIMEOUT_SECS)) pid
  shift
  pid=$(<"$DIR/run/$name.pid")
  until "$@" >/dev/null 2>&1; do
    if ! alive "$pid"; then
      tail -n 30 "$DIR/logs/$name.log" >&2 || true
      die "$name exited while starting (log: $DIR/logs/$name.log)"
    fi
    ((SECONDS < deadline)) || {
      tail -n 30 "$DIR/logs/$name.log" >&2 || true
      die "$name not ready after ${READY_TIMEOUT_SECS}s (log: $DIR/logs/$name.log)"
    }
    sleep 0.5
  done
}

stop_pid() {
  local name=$1 pid
  pid=$(running_pid "$name") || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 150); do
    [[ -e /proc/$pid ]] || break
    sleep 0.1
  done
  [[ ! -e /proc/$pid ]] || kill -KILL "$pid" 2>/dev/null || true
  rm -f "$DIR/run/$name.pid"
  log "stopped $name"
}

# ---- start ----------------------------------------------------------------------------------

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

cgroup_dirs() {
  local hierarchy
  for hierarchy in /sys/fs/cgroup/*/; do
    [[ -e ${hierarchy}cgroup.procs ]] && echo "${hierarchy%/}$CGROUP_ROOT"
  done
  # A pure cgroup2 host: the root itself.
  [[ -e /sys/fs/cgroup/cgroup.procs ]] && echo "/sys/fs/cgroup$CGROUP_ROOT"
  return 0
}

# kubelet wants its cgroup root to exist in every hierarchy; cpuset needs its cpus/mems set.
make_cgroup_root() {
  local dir
  while read -r dir; do
    mkdir -p "$dir"
    if [[ -e $dir/cpuset.cpus && -z $(<"$dir/cpuset.cpus") ]]; then
      cat "$(dirname "$dir")/cpuset.cpus" >"$dir/cpuset.cpus"
      cat "$(dirname "$dir")/cpuset.mems" >"$dir/cpuset.mems"
    fi
  done < <(cgroup_dirs)
}

write_cni_conflist() {
  mkdir -p "$DIR/cni/net.d"
  jq -n --arg name "$BRIDGE" --arg subnet "$SUBNET" --arg data "$DIR/cni/ipam" '{
      cniVersion: "1.0.0", name: $name,
      plugins: [{type: "bridge", bridge: $name, isGateway: true, ipMasq: false,
                 ipam: {type: "host-local", ranges: [[{subnet: $subnet}]], dataDir: $data}},
                {type: "loopback"}]
    }' >"$DIR/cni/net.d/10-$BRIDGE.conflist"
}

write_containerd_config() {
  local c=$DIR/containerd
  mkdir -p "$c"/{root,state,opt,runc} "$c/certs.d/$REGISTRY"
  cat >"$c/certs.d/$REGISTRY/hosts.toml" <<EOF
server = "http://$REGISTRY"
[host."http://$REGISTRY"]
  capabilities = ["pull", "resolve"]
EOF
  # restrict_oom_score_adj: root here lacks CAP_SYS_RESOURCE, so runc cannot lower a container's
  # oom_score_adj below containerd's own (kubelet asks -997 for critical pods).
  cat >"$c/config.toml" <<EOF
version = 2
root = "$c/root"
state = "$c/state"
[grpc]
  address = "$c/containerd.sock"
[ttrpc]
  address = "$c/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$c/opt"
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
        BinaryName = "$(command -v runc)"
        Root = "$c/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_PLUGINS"
    conf_dir = "$DIR/cni/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$c/certs.d"
EOF
}

write_kubelet_config() {
  mkdir -p "$DIR/kubelet/root" "$DIR/kubelet/pod-logs"
  cat >"$DIR/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $KUBELET_PORT
healthzBindAddress: 127.0.0.1
healthzPort: $HEALTHZ_PORT
readOnlyPort: 0
containerRuntimeEndpoint: unix://$DIR/containerd/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: $CGROUP_ROOT
failSwapOn: false
failCgroupV1: false
oomScoreAdj: 0
podLogsDir: $DIR/kubelet/pod-logs
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $CA}
authorization:
  mode: AlwaysAllow
registerNode: true
# A test node on a shared disk: no evictions for the host's own fill level.
evictionHard: {memory.available: "1Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
EOF
}

save_kernel_tunables() {
  [[ -s $DIR/kernel-tunables ]] && return 0
  local t
  for t in "${KERNEL_TUNABLES[@]}"; do
    [[ -r /proc/sys/$t ]] && echo "$t $(<"/proc/sys/$t")"
  done >"$DIR/kernel-tunables"
}

node_start() {
  [[ $(id -u) == 0 ]] || die "run as root: containerd and kubelet make namespaces, mounts and cgroups"
  [[ -x $KUBELET ]] || die "$KUBELET is missing: build it with scripts/k8s-tools.sh"
  for tool in containerd runc jq python3; do
    command -v "$tool" >/dev/null || die "$tool is missing (Debian: containerd runc jq python3)"
  done
  [[ -x $CNI_PLUGINS/bridge ]] || die "no CNI plugins in $CNI_PLUGINS (Debian: containernetworking-plugins)"
  [[ -n $NAME && -n $KUBECONFIG_FILE && -n $CA && -n $REGISTRY && -n $PAUSE_IMAGE && -n $BRIDGE && -n $SUBNET ]] || usage
  mkdir -p "$DIR/logs" "$DIR/run"
  CGROUP_ROOT=/kubelet-$NAME
  KUBELET_PORT=$(free_port)
  HEALTHZ_PORT=$(free_port)
  cat >"$DIR/env" <<EOF
# Written by scripts/kubelet-node.sh; source it.
NODE_NAME=$NAME
BRIDGE=$BRIDGE
SUBNET=$SUBNET
CGROUP_ROOT=$CGROUP_ROOT
KUBELET_PORT=$KUBELET_PORT
HEALTHZ_PORT=$HEALTHZ_PORT
CONTAINERD_SOCKET=$DIR/containerd/containerd.sock
KUBELET_ROOT=$DIR/kubelet/root
EOF
  save_kernel_tunables
  make_cgroup_root
  write_cni_conflist
  write_containerd_config
  write_kubelet_config
  launch containerd containerd --config "$DIR/containerd/config.toml"
  await containerd test -S "$DIR/containerd/containerd.sock"
  launch kubelet "$KUBELET" --config="$DIR/kubelet/config.yaml" --kubeconfig="$KUBECONFIG_FILE" \
    --root-dir="$DIR/kubelet/root" --cert-dir="$DIR/kubelet/pki" --hostname-override="$NAME" \
    --v=1
  await kubelet curl -fsS --max-time 5 "http://127.0.0.1:$HEALTHZ_PORT/healthz"
  log "kubelet node $NAME runs (containerd $DIR/containerd/containerd.sock, cgroup root $CGROUP_ROOT)"
}

# ---- stop -----------------------------------------------------------------------------------

# Processes left behind (containerd's shims daemonise; pods' processes): whatever names DIR on its
# command line, then whatever is in our cgroups.
kill_leftovers() {
  local pid cmdline procs
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
    cmdline=$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null) || continue
    [[ $cmdline == *"$DIR/"* ]] && kill -KILL "$pid" 2>/dev/null || true
  done
  while read -r procs; do
    for pid in $(cat "$procs" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  done < <(cgroup_dirs | while read -r dir; do find "$dir" -name cgroup.procs 2>/dev/null; done)
  sleep 0.3
}

unmount_under_dir() {
  local mountpoint
  # Deepest first; kubelet bind-mounts its root dir onto itself (rshared), so DIR's own subtree
  # is included.
  for _ in 1 2 3; do
    awk -v d="$DIR/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r mountpoint; do
      umount "$mountpoint" 2>/dev/null || umount -l "$mountpoint" 2>/dev/null || true
    done
  done
}

remove_netns() {
  local ns prefix=${SUBNET%.*}.
  [[ -d /run/netns ]] || return 0
  for ns in $(ls /run/netns); do
    if ip -n "$ns" -4 -o addr show 2>/dev/null | grep -qF " inet $prefix"; then
      ip netns delete "$ns" 2>/dev/null || true
    fi
  done
}

# The bridge plugin adds rules only with ipMasq (off here); remove any that name our network.
# kubelet itself adds chains shared by every kubelet on the host (KUBE-FIREWALL, which drops
# non-loopback packets to 127.0.0.0/8, and its canaries): removed when no other kubelet runs.
remove_iptables_rules() {
  local table rule chain
  for table in nat filter; do
    { iptables-save -t "$table" 2>/dev/null || true; } | { grep -E -- "^-A .*($BRIDGE|${SUBNET%/*})" || true; } |
      while read -r rule; do
        eval iptables -t "$table" -D "${rule#-A }" 2>/dev/null || true
      done
  done
  pgrep -x kubelet >/dev/null && return 0
  iptables -t filter -D INPUT -j KUBE-FIREWALL 2>/dev/null || true
  iptables -t filter -D OUTPUT -j KUBE-FIREWALL 2>/dev/null || true
  for table in mangle nat filter; do
    for chain in KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT; do
      iptables -t "$table" -F "$chain" 2>/dev/null && iptables -t "$table" -X "$chain" 2>/dev/null || true
    done
  done
}

remove_cgroups() {
  local dir
  while read -r dir; do
    [[ -d $dir ]] && find "$dir" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done < <(cgroup_dirs)
}

restore_kernel_tunables() {
  [[ -s $DIR/kernel-tunables ]] || return 0
  local t value
  while read -r t value; do
    echo "$value" >"/proc/sys/$t" 2>/dev/null || true
  done <"$DIR/kernel-tunables"
  rm -f "$DIR/kernel-tunables"
}

node_stop() {
  [[ -s $DIR/env ]] || return 0
  # shellcheck disable=SC1091
  source "$DIR/env"
  NAME=$NODE_NAME
  stop_pid kubelet
  # Pods first, through containerd, so CNI DEL releases addresses and the netns go with them.
  local crictl=${SPAWNLET_CRICTL:-$GO_TOOLS_DIR/cri-tools-v1.34.0/crictl}
  if running_pid containerd >/dev/null && [[ -x $crictl ]]; then
    timeout 60 "$crictl" --runtime-endpoint "unix://$CONTAINERD_SOCKET" --timeout 20s rmp -fa >/dev/null 2>&1 || true
  fi
  stop_pid containerd
  kill_leftovers
  unmount_under_dir
  remove_netns
  ip link delete "$BRIDGE" 2>/dev/null || true
  remove_iptables_rules
  remove_cgroups
  restore_kernel_tunables
  log "kubelet node $NAME stopped and removed"
}

kubelet_node_main() {
  (($# >= 2)) || usage
  local command=$1
  case $command in
  pause-image) pause_image "$2" ;;
  start)
    DIR=$(mkdir -p "$2" && cd "$2" && pwd)
    shift 2
    NAME="" KUBECONFIG_FILE="" CA="" REGISTRY="" PAUSE_IMAGE="" BRIDGE="" SUBNET=""
    while (($# > 0)); do
      (($# >= 2)) || usage
      case $1 in
      --name) NAME=$2 ;;
      --kubeconfig) KUBECONFIG_FILE=$2 ;;
      --ca) CA=$2 ;;
      --registry) REGISTRY=$2 ;;
      --pause-image) PAUSE_IMAGE=$2 ;;
      --bridge) BRIDGE=$2 ;;
      --subnet) SUBNET=$2 ;;
      *) usage ;;
      esac
      shift 2
    done
    node_start
    ;;
  stop)
    DIR=$(cd "$2" && pwd) || die "no directory $2"
    node_stop
    ;;
  *) usage ;;
  esac
}

kubelet_node_main "$@"
