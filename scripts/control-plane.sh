#!/usr/bin/env bash
# A real Kubernetes control plane on loopback, for the node agent's tests and demos:
#   scripts/control-plane.sh start DIR [--port N] [--node-name NAME] [--node-cluster-admin]
#   scripts/control-plane.sh stop DIR [COMPONENT...]
#   scripts/control-plane.sh node-kubeconfig DIR NAME     (another node identity: DIR/node-NAME.kubeconfig)
# `start` generates (once) a CA, serving and client certificates and the service-account key pair
# in DIR/pki, starts etcd, kube-apiserver, kube-controller-manager and kube-scheduler on free
# loopback ports, waits until the apiserver is ready and writes DIR/admin.kubeconfig,
# DIR/node.kubeconfig and DIR/env (shell variables: APISERVER_URL, KUBECTL, ...). Run again on the
# same DIR it restarts what is stopped, with the same certificates, data and ports (the tests
# stop the apiserver and bring it back). `stop` ends the named components, or all of them; it
# touches nothing outside DIR. Logs: DIR/logs/COMPONENT.log; pids: DIR/run/COMPONENT.pid.
# Binaries: SPAWNLET_K8S_TOOLS (kube-* and kubectl) and SPAWNLET_ETCD, by default the ones
# scripts/k8s-tools.sh builds.
set -euo pipefail

SPAWNLET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# For the tool versions and the cache paths only: sourcing it builds nothing.
# shellcheck source=k8s-tools.sh
source "$SPAWNLET_ROOT/scripts/k8s-tools.sh"

K8S_TOOLS=${SPAWNLET_K8S_TOOLS:-$KUBERNETES_DIR}
ETCD=${SPAWNLET_ETCD:-$ETCD_DIR/etcd}
SERVICE_CIDR=10.96.0.0/16
SERVICE_IP=10.96.0.1
CLUSTER_CIDR=10.244.0.0/16
# Started in this order, stopped in the reverse one.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler)
READY_TIMEOUT_SECS=${SPAWNLET_CONTROL_PLANE_TIMEOUT:-180}

usage() {
  sed -n '2,5p' "${BASH_SOURCE[0]}" | sed 's/^# //' >&2
  exit 2
}

# ---- certificates ---------------------------------------------------------------------------

# A new key in PKCS#8 PEM: EC P-256 (instant to make) for the control plane's own keys; RSA for the
# client identities a Java client loads (fabric8 reads a PKCS#8 key as RSA unless told otherwise).
new_key() {
  case $2 in
  ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null ;;
  rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null ;;
  esac
}

# sign_cert NAME SUBJECT EXTENSIONS KEY_TYPE: DIR/pki/NAME.{key,crt} signed by the cluster CA.
sign_cert() {
  local name=$1 subject=$2 extensions=$3 key_type=$4 pki=$DIR/pki
  [[ -s $pki/$name.crt ]] && return 0
  new_key "$pki/$name.key" "$key_type"
  openssl req -new -key "$pki/$name.key" -subj "$subject" -out "$pki/$name.csr" 2>/dev/null
  printf '%s\n' "$extensions" >"$pki/$name.ext"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$pki/$name.ext" -out "$pki/$name.crt.tmp" 2>/dev/null
  mv "$pki/$name.crt.tmp" "$pki/$name.crt"
  rm -f "$pki/$name.csr" "$pki/$name.ext"
}

# client_cert NAME SUBJECT KEY_TYPE
client_cert() {
  sign_cert "$1" "$2" "$(printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
    'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=clientAuth')" "$3"
}

generate_pki() {
  local pki=$DIR/pki
  mkdir -p "$pki"
  chmod 700 "$pki"
  if [[ ! -s $pki/ca.crt ]]; then
    new_key "$pki/ca.key" ec
    openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=spawnlet-test-ca" -days 3650 -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out "$pki/ca.crt.tmp" 2>/dev/null
    mv "$pki/ca.crt.tmp" "$pki/ca.crt"
  fi
  sign_cert apiserver "/CN=kube-apiserver" "$(printf '%s\n' 'basicConstraints=critical,CA:FALSE' \
    'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth' \
    "subjectAltName=IP:127.0.0.1,DNS:localhost,IP:$SERVICE_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local")" ec
  client_cert admin "/O=system:masters/CN=kubernetes-admin" rsa
  client_cert kube-controller-manager "/CN=system:kube-controller-manager" ec
  client_cert kube-scheduler "/CN=system:kube-scheduler" ec
  # The apiserver's identity towards the kubelet API (logs, exec) of the nodes.
  client_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" ec
  if [[ ! -s $pki/sa.key ]]; then
    new_key "$pki/sa.key" ec
    openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  fi
}

# write_kubeconfig FILE USER CERT_NAME: a self-contained kubeconfig (certificates inline) for the
# client certificate DIR/pki/CERT_NAME.{crt,key}.
write_kubeconfig() {
  local file=$1 user=$2 cert=$3 pki=$DIR/pki
  cat >"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: spawnlet-test
  cluster:
    server: $APISERVER_URL
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 "$pki/$cert.crt")
    client-key-data: $(base64 -w0 "$pki/$cert.key")
contexts:
- name: $user@spawnlet-test
  context:
    cluster: spawnlet-test
    user: $user
    namespace: default
current-context: $user@spawnlet-test
EOF
  chmod 600 "$file.tmp"
  mv "$file.tmp" "$file"
}

# A node identity as the kubelet has it: user system:node:NAME in group system:nodes, so the Node
# authorizer and the NodeRestriction admission plugin treat it exactly as a kubelet.
node_identity() {
  local name=$1 file=$2
  client_cert "node-$name" "/O=system:nodes/CN=system:node:$name" rsa
  write_kubeconfig "$file" "system:node:$name" "node-$name"
}

# ---- ports and processes --------------------------------------------------------------------

# free_port [TAKEN...]: a TCP port that nothing listens on and that is none of TAKEN, in
# 20000-32767 (below the kernel's ephemeral range, so no outgoing connection holds it when a
# component restarts). The random pick keeps control planes started together from colliding.
free_port() {
  local listening port tries
  listening=" $(ss -Htanl 2>/dev/null | awk '{n = split($4, a, ":"); printf "%s ", a[n]}') $* "
  for ((tries = 0; tries < 200; tries++)); do
    port=$((20000 + SRANDOM % 12768))
    [[ $listening == *" $port "* ]] || {
      echo "$port"
      return 0
    }
  done
  die "no free TCP port found on loopback"
}

pid_file() { echo "$DIR/run/$1.pid"; }

# The pid of COMPONENT if it runs (its pid file names a live process started for this DIR).
running_pid() {
  local file pid
  file=$(pid_file "$1")
  [[ -s $file ]] || return 1
  pid=$(<"$file")
  [[ -r /proc/$pid/cmdline ]] || return 1
  # A recycled pid belongs to some other program: ours carry DIR on their command line.
  [[ $(tr '\0' ' ' <"/proc/$pid/cmdline") == *"$DIR/"* ]] || return 1
  echo "$pid"
}

# launch COMPONENT BINARY ARGS...: in its own session (a test's Ctrl-C or exit does not reach
# it; `stop` does), output to DIR/logs/COMPONENT.log.
launch() {
  local name=$1 binary=$2
  shift 2
  if running_pid "$name" >/dev/null; then
    log "$name already runs (pid $(running_pid "$name"))"
    return 0
  fi
  [[ -x $binary ]] || die "$binary is missing: build it with scripts/k8s-tools.sh"
  setsid "$binary" "$@" </dev/null >>"$DIR/logs/$name.log" 2>&1 &
  echo $! >"$(pid_file "$name")"
  log "started $name (pid $!, log $DIR/logs/$name.log)"
}

# await NAME COMMAND...: retries COMMAND until it succeeds; fails with the component's log tail
# when the component died or the time ran out.
await() {
  local name=$1 deadline=$((SECONDS + READY_TIMEOUT_SECS))
  shift
  until "$@" >/dev/null 2>&1; do
    if ! running_pid "$name" >/dev/null; then
      tail -n 30 "$DIR/logs/$name.log" >&2 || true
      die "$name exited while starting (log: $DIR/logs/$name.log)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$DIR/logs/$name.log" >&2 || true
      die "$name not ready after ${READY_TIMEOUT_SECS}s (log: $DIR/logs/$name.log)"
    fi
    sleep 0.5
  done
}

https_ok() {
  curl -fsS --max-time 5 --cacert "$DIR/pki/ca.crt" --cert "$DIR/pki/admin.crt" --key "$DIR/pki/admin.key" "$1"
}
# The scheduler and controller-manager serve /healthz with their own self-signed certificates.
local_healthz() { curl -fsSk --max-time 5 "https://127.0.0.1:$1/healthz"; }

# ---- start / stop ---------------------------------------------------------------------------

# Ports and names are chosen once and kept in DIR/env, so a restart keeps every URL valid.
load_or_choose_settings() {
  if [[ -s $DIR/env ]]; then
    # shellcheck disable=SC1091
    source "$DIR/env"
    [[ -z $REQUESTED_PORT || $REQUESTED_PORT == "$APISERVER_PORT" ]] ||
      die "$DIR already holds a control plane on port $APISERVER_PORT (not $REQUESTED_PORT): stop it and use another DIR"
    return 0
  fi
  APISERVER_PORT=${REQUESTED_PORT:-$(free_port)}
  ETCD_CLIENT_PORT=$(free_port "$APISERVER_PORT")
  ETCD_PEER_PORT=$(free_port "$APISERVER_PORT" "$ETCD_CLIENT_PORT")
  CONTROLLER_MANAGER_PORT=$(free_port "$APISERVER_PORT" "$ETCD_CLIENT_PORT" "$ETCD_PEER_PORT")
  SCHEDULER_PORT=$(free_port "$APISERVER_PORT" "$ETCD_CLIENT_PORT" "$ETCD_PEER_PORT" "$CONTROLLER_MANAGER_PORT")
  NODE_NAME=${REQUESTED_NODE_NAME:-spawnlet-node}
  APISERVER_URL="https://127.0.0.1:$APISERVER_PORT"
}

write_env() {
  cat >"$DIR/env.tmp" <<EOF
# Written by scripts/control-plane.sh; source it.
APISERVER_URL=$APISERVER_URL
APISERVER_PORT=$APISERVER_PORT
ETCD_URL=http://127.0.0.1:$ETCD_CLIENT_PORT
ETCD_CLIENT_PORT=$ETCD_CLIENT_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
CONTROLLER_MANAGER_PORT=$CONTROLLER_MANAGER_PORT
SCHEDULER_PORT=$SCHEDULER_PORT
ADMIN_KUBECONFIG=$DIR/admin.kubeconfig
NODE_KUBECONFIG=$DIR/node.kubeconfig
NODE_NAME=$NODE_NAME
NODE_CLUSTER_ADMIN=$NODE_CLUSTER_ADMIN
CA_CERT=$DIR/pki/ca.crt
CA_KEY=$DIR/pki/ca.key
SERVICE_CIDR=$SERVICE_CIDR
CLUSTER_CIDR=$CLUSTER_CIDR
KUBECTL=$K8S_TOOLS/kubectl
K8S_TOOLS=$K8S_TOOLS
EOF
  mv "$DIR/env.tmp" "$DIR/env"
}

start_etcd() {
  local url="http://127.0.0.1"
  # No fsync: a throwaway test store on a shared disk; losing it on a host crash costs nothing.
  launch etcd "$ETCD" --name default --data-dir "$DIR/etcd" \
    --listen-client-urls "$url:$ETCD_CLIENT_PORT" --advertise-client-urls "$url:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "$url:$ETCD_PEER_PORT" --initial-advertise-peer-urls "$url:$ETCD_PEER_PORT" \
    --initial-cluster "default=$url:$ETCD_PEER_PORT" --unsafe-no-fsync --log-level warn
  await etcd curl -fsS --max-time 5 "$url:$ETCD_CLIENT_PORT/health"
}

start_apiserver() {
  local pki=$DIR/pki
  # The endpoint reconciler is off: the `kubernetes` Service's endpoints would be 127.0.0.1,
  # which Endpoints validation rejects (and no pod could reach it anyway).
  launch kube-apiserver "$K8S_TOOLS/kube-apiserver" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$APISERVER_PORT" \
    --etcd-servers="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --client-ca-file="$pki/ca.crt" \
    --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types=InternalIP,Hostname \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --allow-privileged=true --endpoint-reconciler-type=none --profiling=false
  await kube-apiserver https_ok "$APISERVER_URL/readyz"
}

start_controller_manager() {
  local pki=$DIR/pki kubeconfig=$DIR/kube-controller-manager.kubeconfig
  launch kube-controller-manager "$K8S_TOOLS/kube-controller-manager" \
    --kubeconfig="$kubeconfig" --authentication-kubeconfig="$kubeconfig" \
    --authorization-kubeconfig="$kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$CONTROLLER_MANAGER_PORT" \
    --cert-dir="$DIR/run/kube-controller-manager" \
    --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
    --use-service-account-credentials=true \
    --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --allocate-node-cidrs=true --cluster-cidr="$CLUSTER_CIDR" --node-cidr-mask-size=24 \
    --leader-elect=false --profiling=false
  await kube-controller-manager local_healthz "$CONTROLLER_MANAGER_PORT"
  # Healthy is not yet useful: pods are refused until the service account controller has made
  # the default namespace's service account, so "ready" waits for it.
  await kube-controller-manager https_ok "$APISERVER_URL/api/v1/namespaces/default/serviceaccounts/default"
}

start_scheduler() {
  local kubeconfig=$DIR/kube-scheduler.kubeconfig
  launch kube-scheduler "$K8S_TOOLS/kube-scheduler" \
    --kubeconfig="$kubeconfig" --authentication-kubeconfig="$kubeconfig" \
    --authorization-kubeconfig="$kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$SCHEDULER_PORT" \
    --cert-dir="$DIR/run/kube-scheduler" --leader-elect=false --profiling=false
  await kube-scheduler local_healthz "$SCHEDULER_PORT"
}

# cluster-admin for the node identity, when a test wants the agent free of the Node authorizer's
# limits (--node-cluster-admin).
bind_node_cluster_admin() {
  "$K8S_TOOLS/kubectl" --kubeconfig "$DIR/admin.kubeconfig" create clusterrolebinding \
    spawnlet-node-cluster-admin --clusterrole=cluster-admin --user="system:node:$NODE_NAME" \
    --dry-run=client -o yaml |
    "$K8S_TOOLS/kubectl" --kubeconfig "$DIR/admin.kubeconfig" apply -f - >/dev/null
}

control_plane_start() {
  mkdir -p "$DIR/logs" "$DIR/run" "$DIR/etcd"
  chmod 700 "$DIR/etcd"
  load_or_choose_settings
  NODE_CLUSTER_ADMIN=${NODE_CLUSTER_ADMIN:-$REQUESTED_NODE_CLUSTER_ADMIN}
  local started
  started=$(now_us)
  generate_pki
  write_kubeconfig "$DIR/admin.kubeconfig" kubernetes-admin admin
  write_kubeconfig "$DIR/kube-controller-manager.kubeconfig" system:kube-controller-manager kube-controller-manager
  write_kubeconfig "$DIR/kube-scheduler.kubeconfig" system:kube-scheduler kube-scheduler
  node_identity "$NODE_NAME" "$DIR/node.kubeconfig"
  write_env
  start_etcd
  start_apiserver
  start_controller_manager
  start_scheduler
  ((NODE_CLUSTER_ADMIN == 0)) || bind_node_cluster_admin
  log "control plane ready at $APISERVER_URL in $(fmt_secs $(($(now_us) - started))) (admin kubeconfig: $DIR/admin.kubeconfig)"
}

# stop_component NAME: SIGTERM, up to 15 s to exit, then SIGKILL.
stop_component() {
  local name=$1 pid waited
  if ! pid=$(running_pid "$name"); then
    rm -f "$(pid_file "$name")"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((waited = 0; waited < 150; waited++)); do
    [[ -e /proc/$pid ]] || break
    sleep 0.1
  done
  if [[ -e /proc/$pid ]]; then
    log "$name (pid $pid) ignored SIGTERM for 15s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$(pid_file "$name")"
  log "stopped $name"
}

control_plane_stop() {
  local names=("$@") i
  ((${#names[@]} > 0)) || names=("${COMPONENTS[@]}")
  for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
    [[ " ${names[*]} " == *" ${COMPONENTS[$i]} "* ]] && stop_component "${COMPONENTS[$i]}"
  done
  return 0
}

control_plane_main() {
  (($# >= 2)) || usage
  local command=$1
  DIR=$(mkdir -p "$2" && cd "$2" && pwd)
  shift 2
  case $command in
  start)
    REQUESTED_PORT="" REQUESTED_NODE_NAME="" REQUESTED_NODE_CLUSTER_ADMIN=0
    while (($# > 0)); do
      case $1 in
      --port) REQUESTED_PORT=${2:?--port needs a number} && shift ;;
      --node-name) REQUESTED_NODE_NAME=${2:?--node-name needs a name} && shift ;;
      --node-cluster-admin) REQUESTED_NODE_CLUSTER_ADMIN=1 ;;
      *) usage ;;
      esac
      shift
    done
    control_plane_start
    ;;
  stop)
    local name
    for name in "$@"; do
      [[ " ${COMPONENTS[*]} " == *" $name "* ]] || die "no component '$name' (one of: ${COMPONENTS[*]})"
    done
    control_plane_stop "$@"
    ;;
  node-kubeconfig)
    (($# == 1)) || usage
    [[ -s $DIR/env ]] || die "$DIR holds no control plane: run '$0 start $DIR' first"
    # shellcheck disable=SC1091
    source "$DIR/env"
    node_identity "$1" "$DIR/node-$1.kubeconfig"
    echo "$DIR/node-$1.kubeconfig"
    ;;
  *) usage ;;
  esac
}

control_plane_main "$@"
