#!/usr/bin/env bash
# The test command: sets up this machine (scripts/setup.sh), builds the test images, then runs
# `mvn -B clean verify` over the whole project: unit tests (Surefire), integration tests and the
# crictl end-to-end scenarios (Failsafe), formatting check. Prints each stage's duration and one
# closing line "tests: N passed, N failed, N skipped"; exits non-zero if anything failed.
# Run as root (the integration tests create mounts, network namespaces and containers).
set -euo pipefail

SPAWNLET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=setup.sh
source "$SPAWNLET_ROOT/scripts/setup.sh"
# shellcheck source=test-images.sh
source "$SPAWNLET_ROOT/scripts/test-images.sh"
# shellcheck source=test-registry.sh
source "$SPAWNLET_ROOT/scripts/test-registry.sh"

MAVEN_RC=0
maven_verify() {
  # The tests find the tools through the environment (SPAWNLET_CRICTL, SPAWNLET_CRITEST,
  # SPAWNLET_TEST_IMAGES, SPAWNLET_K8S_TOOLS, exported by the sourced scripts) or the same system
  # properties.
  (cd "$SPAWNLET_ROOT" && mvn -B --fail-at-end clean verify \
    -Dspawnlet.crictl="$SPAWNLET_CRICTL" \
    -Dspawnlet.critest="$SPAWNLET_CRITEST" \
    -Dspawnlet.testImages="$SPAWNLET_TEST_IMAGES" \
    -Dspawnlet.testRegistryStorage="$SPAWNLET_TEST_REGISTRY_STORAGE" \
    -Dspawnlet.k8sTools="$SPAWNLET_K8S_TOOLS" -Dspawnlet.etcd="$SPAWNLET_ETCD") || {
    MAVEN_RC=$?
    STAGE_FAILED=1
  }
}

# Adds up the Surefire and Failsafe XML reports of this run: "passed failed skipped".
count_tests() {
  local files=()
  mapfile -t files < <(find "$SPAWNLET_ROOT" -path '*/target/*-reports/TEST-*.xml' -not -path '*/.git/*' 2>/dev/null)
  if ((${#files[@]} == 0)); then
    echo "0 0 0"
    return 0
  fi
  # The first <testsuite ...> tag of each report carries the counts as attributes.
  awk '
    /<testsuite[ >]/ && !seen[FILENAME]++ {
      for (n = split($0, kv, " "); n > 0; n--) {
        if (match(kv[n], /^(tests|failures|errors|skipped)="[0-9]+"/)) {
          split(kv[n], p, "\""); key = substr(kv[n], 1, index(kv[n], "=") - 1); sum[key] += p[2]
        }
      }
    }
    END {
      failed = sum["failures"] + sum["errors"]
      printf "%d %d %d\n", sum["tests"] - failed - sum["skipped"], failed, sum["skipped"]
    }' "${files[@]}"
}

test_main() {
  ((EUID == 0)) || die "run as root: sudo $0 (the integration tests need root)"
  local start
  start=$(now_us)
  setup_main kubernetes
  test_images_main
  test_registry_populate
  stage "mvn verify (unit, integration, e2e)" maven_verify
  local passed failed skipped
  read -r passed failed skipped < <(count_tests)
  echo >&2
  stage_summary
  log "total $(fmt_secs $(($(now_us) - start))); maven exit code $MAVEN_RC"
  echo "tests: $passed passed, $failed failed, $skipped skipped"
  if ((MAVEN_RC != 0 || failed != 0)); then
    exit 1
  fi
}

test_main "$@"
