# shellcheck shell=bash
# Shared by the scripts in scripts/ and by the ./spawnlet launcher: logging, timed stages, JDK
# lookup. Sourced, never run; the caller sets `set -euo pipefail`.

SPAWNLET_CACHE="${SPAWNLET_CACHE:-/var/cache/spawnlet}"
SPAWNLET_MIN_JAVA=21

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# Microseconds since the epoch, from bash itself (no fork, no bc).
now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$((10#$t))"; }
fmt_secs() { printf '%d.%01ds' "$(($1 / 1000000))" "$((($1 % 1000000) / 100000))"; }

# Timed stages: `stage NAME command args...` runs the command in this shell (so the variables it
# sets stay) with errexit still on: a failing command ends the script, and the EXIT trap below
# reports the stage it failed in. A command that wants to go on after a failure (the test run,
# to print its summary) sets STAGE_FAILED=1 and returns 0.
STAGE_NAMES=()
STAGE_TIMES=()
STAGE_RESULTS=()
STAGE_CURRENT=""
STAGE_START=0
STAGE_FAILED=0
stage_record() {
  local took=$(($(now_us) - STAGE_START))
  STAGE_NAMES+=("$STAGE_CURRENT")
  STAGE_TIMES+=("$(fmt_secs "$took")")
  STAGE_RESULTS+=("$1")
  log "<== $STAGE_CURRENT: $1 ($(fmt_secs "$took"))"
  STAGE_CURRENT=""
}
stage() {
  STAGE_CURRENT=$1 STAGE_START=$(now_us) STAGE_FAILED=0
  shift
  log "==> $STAGE_CURRENT"
  "$@"
  if ((STAGE_FAILED)); then stage_record FAILED; else stage_record ok; fi
}
stage_summary() {
  local i
  for i in "${!STAGE_NAMES[@]}"; do
    printf '  %-38s %9s  %s\n' "${STAGE_NAMES[$i]}" "${STAGE_TIMES[$i]}" "${STAGE_RESULTS[$i]}" >&2
  done
}
stage_on_exit() {
  local rc=$?
  if [[ -n $STAGE_CURRENT ]]; then
    stage_record "FAILED (exit code $rc)"
    stage_summary
  fi
}
trap stage_on_exit EXIT

# Name the command that failed (once: the failure also surfaces in every calling function).
set -o errtrace
ERR_REPORTED=""
trap 'ERR_RC=$?; [[ -n $ERR_REPORTED ]] || { ERR_REPORTED=1; log "failed (exit code $ERR_RC): $BASH_COMMAND (${BASH_SOURCE[0]}:$LINENO)"; }' ERR

# Major version of a JDK home, from its `release` file (no JVM start), or empty.
jdk_major() {
  local release=$1/release version
  [[ -r $release ]] || return 0
  version=$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$release")
  version=${version#1.}
  echo "${version%%[.+-]*}"
}

# Prints the home of the newest JDK >= 21: Temurin builds under /usr/lib/jvm first, then
# $JAVA_HOME, then any other JDK under /usr/lib/jvm, then the `java` on PATH. Fails with what to
# install when there is none.
# The Go toolchain the test tools are built with: `go` on PATH, else /usr/local/go's.
find_go() {
  if command -v go >/dev/null; then
    command -v go
  elif [[ -x /usr/local/go/bin/go ]]; then
    echo /usr/local/go/bin/go
  else
    return 1
  fi
}

find_jdk_home() {
  local best="" best_major=0 dir major java_bin
  for dir in /usr/lib/jvm/temurin-*; do
    [[ -x $dir/bin/java ]] || continue
    major=$(jdk_major "$dir")
    if [[ -n $major ]] && ((major >= SPAWNLET_MIN_JAVA && major > best_major)); then
      best=$dir best_major=$major
    fi
  done
  if [[ -z $best ]]; then
    for dir in ${JAVA_HOME:+"$JAVA_HOME"} /usr/lib/jvm/*; do
      [[ -x $dir/bin/java ]] || continue
      major=$(jdk_major "$dir")
      if [[ -n $major ]] && ((major >= SPAWNLET_MIN_JAVA && major > best_major)); then
        best=$dir best_major=$major
      fi
    done
  fi
  if [[ -z $best ]] && java_bin=$(command -v java); then
    dir=$(dirname "$(dirname "$(readlink -f "$java_bin")")")
    major=$(jdk_major "$dir")
    if [[ -z $major ]]; then
      # No release file: ask the JVM itself (`openjdk version "21.0.2" ...`).
      major=$("$java_bin" -version 2>&1 | sed -n '1s/.*version "\(1\.\)\{0,1\}\([0-9]*\).*/\2/p')
    fi
    if [[ -n $major ]] && ((major >= SPAWNLET_MIN_JAVA)); then
      best=$dir best_major=$major
    fi
  fi
  if [[ -z $best ]]; then
    log "ERROR: spawnlet needs a JDK ${SPAWNLET_MIN_JAVA} or newer; none found under /usr/lib/jvm," \
      "in JAVA_HOME or on PATH (java there: $(java -version 2>&1 | head -1 || echo none))." \
      "Install one under /usr/lib/jvm (Eclipse Temurin is preferred) or point JAVA_HOME at it."
    return 1
  fi
  echo "$best"
}
