#!/usr/bin/env bash
# The demo: sets up this machine, builds spawnlet, starts its CRI daemon in the background and
# runs a busybox pod (examples/busybox) whose httpd answers on the pod's IP, all through crictl.
# Re-running replaces the daemon (new build) and the demo pod. Run as root.
set -euo pipefail

SPAWNLET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=setup.sh
source "$SPAWNLET_ROOT/scripts/setup.sh"
# shellcheck source=test-images.sh
source "$SPAWNLET_ROOT/scripts/test-images.sh"

SOCKET=/run/spawnlet/cri.sock
PID_FILE=/run/spawnlet/cri.pid
LOG_DIR=/var/log/spawnlet
DAEMON_LOG="$LOG_DIR/cri.log"
JAR="$SPAWNLET_ROOT/dist/target/spawnlet.jar"
EXAMPLE="$SPAWNLET_ROOT/examples/busybox"
IMAGE=docker.io/library/busybox:latest

crictl() { "$SPAWNLET_CRICTL" --runtime-endpoint "unix://$SOCKET" --image-endpoint "unix://$SOCKET" --timeout 60s "$@"; }

build() {
  # Skip Maven when the jar is newer than every source file and pom.
  if [[ -f $JAR ]] && [[ -z $(find "$SPAWNLET_ROOT" \( -path '*/target' -o -path '*/.git' \) -prune -o \
    \( -path '*/src/*' -o -name pom.xml \) -type f -newer "$JAR" -print -quit) ]]; then
    log "$JAR is up to date"
    return 0
  fi
  (cd "$SPAWNLET_ROOT" && mvn -B -q -DskipTests install)
}

stop_previous_daemon() {
  [[ -f $PID_FILE ]] || return 0
  local pid
  pid=$(cat "$PID_FILE")
  if kill -0 "$pid" 2>/dev/null && grep -q spawnlet "/proc/$pid/cmdline" 2>/dev/null; then
    log "stopping the previous daemon (pid $pid)"
    kill -TERM "$pid"
    local i
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid did not stop in 10 s: SIGKILL"
      kill -KILL "$pid"
    fi
  fi
  rm -f "$PID_FILE"
}

start_daemon() {
  stop_previous_daemon
  mkdir -p "$LOG_DIR" "$(dirname "$SOCKET")"
  printf '\n==== %s: ./spawnlet cri (scripts/run.sh)\n' "$(date -Is)" >>"$DAEMON_LOG"
  # setsid: the daemon outlives this script and the terminal it ran in.
  setsid "$SPAWNLET_ROOT/spawnlet" cri --socket "$SOCKET" --log-level info </dev/null >>"$DAEMON_LOG" 2>&1 &
  local pid=$!
  echo "$pid" >"$PID_FILE"
  log "daemon pid $pid, log $DAEMON_LOG; waiting for $SOCKET"
  local i
  for ((i = 0; i < 600; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$DAEMON_LOG" >&2
      die "the daemon exited during start-up; its log above and in $DAEMON_LOG"
    fi
    if [[ -S $SOCKET ]] && crictl version >/dev/null 2>&1; then
      crictl version
      return 0
    fi
    sleep 0.1
  done
  die "no answer on $SOCKET after 60 s; see $DAEMON_LOG"
}

import_image() {
  "$SPAWNLET_ROOT/spawnlet" image import "$SPAWNLET_TEST_IMAGES/busybox:latest" --name "$IMAGE"
  crictl images
}

remove_previous_pod() {
  local name id
  name=$(jq -r .metadata.name "$EXAMPLE/pod.json")
  for id in $(crictl pods --name "^$name\$" -q); do
    log "removing the previous demo pod $id"
    crictl stopp "$id" >/dev/null
    crictl rmp "$id" >/dev/null
  done
}

POD_ID=""
CTR_ID=""
POD_IP=""
run_pod() {
  mkdir -p "$(jq -r .log_directory "$EXAMPLE/pod.json")"
  POD_ID=$(crictl runp "$EXAMPLE/pod.json")
  CTR_ID=$(crictl create --no-pull "$POD_ID" "$EXAMPLE/container.json" "$EXAMPLE/pod.json")
  crictl start "$CTR_ID" >/dev/null
  POD_IP=$(crictl inspectp "$POD_ID" | jq -r '.status.network.ip // empty')
  [[ -n $POD_IP ]] || die "pod $POD_ID has no IP (crictl inspectp $POD_ID)"
  log "pod $POD_ID (IP $POD_IP), container $CTR_ID"
}

curl_pod() {
  local i
  # httpd binds right after start; give it a moment rather than failing the first try.
  for ((i = 0; i < 50; i++)); do
    if curl -fsS --max-time 2 "http://$POD_IP:8080/"; then
      return 0
    fi
    sleep 0.2
  done
  curl -fsS --max-time 2 "http://$POD_IP:8080/"
}

run_main() {
  ((EUID == 0)) || die "run as root: sudo $0"
  local start
  start=$(now_us)
  setup_main
  test_images_main
  stage "build" build
  stage "start daemon" start_daemon
  stage "import busybox image" import_image
  stage "remove previous demo pod" remove_previous_pod
  stage "run demo pod" run_pod
  stage "curl http://<pod-ip>:8080/" curl_pod
  echo
  crictl pods
  echo
  crictl ps
  echo
  stage_summary
  local ep="--runtime-endpoint unix://$SOCKET"
  cat <<MSG
spawnlet is running (pid $(cat "$PID_FILE"), log $DAEMON_LOG); demo pod up in $(fmt_secs $(($(now_us) - start))).
  pod $POD_ID  IP $POD_IP   ->  curl http://$POD_IP:8080/
Look around:   $SPAWNLET_CRICTL $ep inspectp $POD_ID
               $SPAWNLET_CRICTL $ep logs $CTR_ID
               $SPAWNLET_CRICTL $ep exec -s $CTR_ID ps
Clean up:      $SPAWNLET_CRICTL $ep stopp $POD_ID && $SPAWNLET_CRICTL $ep rmp $POD_ID
               kill \$(cat $PID_FILE)      # stops the daemon (SIGTERM)
MSG
}

run_main "$@"
