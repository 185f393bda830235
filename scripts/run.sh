#!/usr/bin/env bash
# The demo: sets up this machine, builds spawnlet and the Debian systemd example image, and runs
# `spawnlet run --manifests examples/static-pods` in the background: a socket-activated Debian
# machine (examples/static-pods/debian.yaml) that sleeps with its sockets open on its pod IP.
# Then it shows a connection waking it (curl), `spawnlet pods` while it runs, and `spawnlet pods`
# after it went back to sleep (30 s idle timeout). Re-running replaces `spawnlet run` (new build);
# the pod is adopted, not restarted. Run as root.
set -euo pipefail

SPAWNLET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=setup.sh
source "$SPAWNLET_ROOT/scripts/setup.sh"
# shellcheck source=test-images.sh
source "$SPAWNLET_ROOT/scripts/test-images.sh"

SOCKET=/run/spawnlet/cri.sock
PID_FILE=/run/spawnlet/run.pid
LOG_DIR=/var/log/spawnlet
RUN_LOG="$LOG_DIR/run.log"
JAR="$SPAWNLET_ROOT/dist/target/spawnlet.jar"
MANIFESTS="$SPAWNLET_ROOT/examples/static-pods"
POD_NAME=debian
IMAGE=docker.io/spawnlet/debian-systemd:bookworm
IDLE_SECONDS=30

crictl() { "$SPAWNLET_CRICTL" --runtime-endpoint "unix://$SOCKET" --image-endpoint "unix://$SOCKET" --timeout 60s "$@" 2> >(grep -v 'level=warning' >&2); }
spawnlet() { "$SPAWNLET_ROOT/spawnlet" "$@"; }

build() {
  # Skip Maven when the jar is newer than every source file and pom.
  if [[ -f $JAR ]] && [[ -z $(find "$SPAWNLET_ROOT" \( -path '*/target' -o -path '*/.git' \) -prune -o \
    \( -path '*/src/*' -o -name pom.xml \) -type f -newer "$JAR" -print -quit) ]]; then
    log "$JAR is up to date"
    return 0
  fi
  (cd "$SPAWNLET_ROOT" && mvn -B -q -DskipTests install)
}

stop_previous_run() {
  [[ -f $PID_FILE ]] || return 0
  local pid
  pid=$(cat "$PID_FILE")
  if kill -0 "$pid" 2>/dev/null && grep -q spawnlet "/proc/$pid/cmdline" 2>/dev/null; then
    log "stopping the previous 'spawnlet run' (pid $pid); its pods keep running and are adopted"
    kill -TERM "$pid"
    local i
    for ((i = 0; i < 150; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid did not stop in 15 s: SIGKILL"
      kill -KILL "$pid"
    fi
  fi
  rm -f "$PID_FILE"
}

import_image() {
  spawnlet image import "$SPAWNLET_TEST_IMAGES/debian-systemd:latest" --name "$IMAGE"
}

start_run() {
  stop_previous_run
  mkdir -p "$LOG_DIR" "$(dirname "$SOCKET")"
  printf '\n==== %s: ./spawnlet run --manifests %s (scripts/run.sh)\n' "$(date -Is)" "$MANIFESTS" >>"$RUN_LOG"
  # setsid: spawnlet outlives this script and the terminal it ran in.
  setsid "$SPAWNLET_ROOT/spawnlet" run --manifests "$MANIFESTS" --socket "$SOCKET" --log-level info \
    </dev/null >>"$RUN_LOG" 2>&1 &
  local pid=$!
  echo "$pid" >"$PID_FILE"
  log "spawnlet run: pid $pid, log $RUN_LOG; waiting for $SOCKET"
  local i
  for ((i = 0; i < 600; i++)); do
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$RUN_LOG" >&2; die "spawnlet run exited during start-up; its log above and in $RUN_LOG"; }
    if [[ -S $SOCKET ]] && crictl version >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  die "no answer on $SOCKET after 60 s; see $RUN_LOG"
}

POD_ID=""
POD_IP=""
wait_for_pod() {
  local i
  for ((i = 0; i < 1200; i++)); do
    POD_ID=$(crictl pods --name "^$POD_NAME\$" --state ready -q | head -1)
    if [[ -n $POD_ID ]]; then
      POD_IP=$(crictl inspectp "$POD_ID" | jq -r '.status.network.ip // empty')
      [[ -n $POD_IP ]] && [[ $(activation_state) == sleeping || $(activation_state) == running ]] && return 0
    fi
    sleep 0.1
  done
  tail -n 30 "$RUN_LOG" >&2
  die "pod $POD_NAME did not come up in 120 s; see $RUN_LOG"
}

activation_state() {
  crictl inspectp "$POD_ID" | jq -r '.info.activation.state // empty'
}

show_pods() {
  echo
  spawnlet pods --socket "$SOCKET"
  echo
}

WAKE_SECONDS=""
wake_with_curl() {
  log "state before: $(activation_state); connecting to http://$POD_IP/ wakes it (the connection waits in the accept queue)"
  local out
  out=$(curl -fsS --max-time 120 -w '\n%{time_total}' "http://$POD_IP/")
  WAKE_SECONDS=${out##*$'\n'}
  log "answer: ${out%$'\n'*}"
  log "first response after ${WAKE_SECONDS}s (boot of a whole Debian included)"
  log "and an Accept=yes service on port 7777: $(timeout 10 socat -T 5 - "TCP:$POD_IP:7777" </dev/null)"
}

wait_for_sleep() {
  log "no connection for ${IDLE_SECONDS}s powers the machine off again (SIGRTMIN+3); waiting"
  local i
  for ((i = 0; i < 1200; i++)); do
    [[ $(activation_state) == sleeping ]] && return 0
    sleep 0.1
  done
  die "pod $POD_ID did not go back to sleep in 120 s; see $RUN_LOG"
}

run_main() {
  ((EUID == 0)) || die "run as root: sudo $0"
  local start
  start=$(now_us)
  setup_main
  test_images_main
  stage "build" build
  stage "import debian-systemd image" import_image
  stage "start spawnlet run" start_run
  stage "wait for the sleeping pod" wait_for_pod
  show_pods
  stage "wake it: curl http://<pod-ip>/" wake_with_curl
  show_pods
  stage "back to sleep after ${IDLE_SECONDS}s idle" wait_for_sleep
  show_pods
  stage_summary
  cat <<MSG
spawnlet run is running (pid $(cat "$PID_FILE"), log $RUN_LOG); demo done in $(fmt_secs $(($(now_us) - start))).
  pod $POD_NAME ($POD_ID) sleeps on $POD_IP: every connection wakes it, ${IDLE_SECONDS}s idle puts it back to sleep.
Try:           curl http://$POD_IP/ ; ./spawnlet pods
               $SPAWNLET_CRICTL --runtime-endpoint unix://$SOCKET inspectp $POD_ID | jq .info.activation
               curl -s http://127.0.0.1:9464/metrics | grep spawnlet_activation
Clean up:      rm $MANIFESTS/debian.yaml   # (spawnlet run stops and removes the pod; git checkout restores it)
               kill \$(cat $PID_FILE)      # stops spawnlet run (the pod keeps its sockets; the next run adopts it)
MSG
}

run_main "$@"
