#!/usr/bin/env bash
# Boot-to-READY benchmark of the Debian systemd example image: spawnlet vs raw crun vs
# systemd-nspawn (vs podman where it runs). As root:  bench/boot/run.sh [RUNS]
# Prints a markdown table (the "System container boot" section of docs/BENCHMARKS.md).
set -euo pipefail
SPAWNLET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
runs=${1:-10}
[[ $EUID -eq 0 ]] || { echo "bench/boot/run.sh: run as root" >&2; exit 1; }
[[ -f $SPAWNLET_ROOT/dist/target/spawnlet.jar ]] ||
  (cd "$SPAWNLET_ROOT" && mvn -B -q -DskipTests install)
images=$("$SPAWNLET_ROOT/scripts/test-images.sh")
exec python3 "$SPAWNLET_ROOT/bench/boot/boot.py" --layout "$images/debian-systemd" --runs "$runs" \
  --out "${BENCH_OUT:-/dev/null}"
