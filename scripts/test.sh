#!/usr/bin/env bash
# The test command: sets up this machine (scripts/setup.sh), builds the test images, then runs
# `mvn -B clean install` over the whole project: unit tests (Surefire), integration tests and the
# crictl end-to-end scenarios (Failsafe), formatting check — while the Kubernetes tools build in
# the background — and then the e2e suites that need them (kubectl, helm, a control plane). Prints each stage's duration and one
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
# The flags every Maven run of the suites gets: where the tools and images are (the tests also
# read SPAWNLET_CRICTL, SPAWNLET_TEST_IMAGES, ... from the environment).
maven_tool_flags() {
  MAVEN_TOOL_FLAGS=(
    -Dspawnlet.crictl="$SPAWNLET_CRICTL"
    -Dspawnlet.critest="$SPAWNLET_CRITEST"
    -Dspawnlet.testImages="$SPAWNLET_TEST_IMAGES"
    -Dspawnlet.testRegistryStorage="$SPAWNLET_TEST_REGISTRY_STORAGE"
    -Dspawnlet.k8sTools="$SPAWNLET_K8S_TOOLS" -Dspawnlet.etcd="$SPAWNLET_ETCD"
    -Dspawnlet.helm="$SPAWNLET_HELM"
  )
}

# Everything but the suites that need the Kubernetes binaries (@KubernetesSuite), which may still
# be building in the background; `install` so the second run can take the e2e module alone.
maven_verify_without_kubernetes() {
  maven_tool_flags
  (cd "$SPAWNLET_ROOT" && mvn -B --fail-at-end clean install -DexcludedGroups=kubernetes \
    "${MAVEN_TOOL_FLAGS[@]}") || {
    MAVEN_RC=$?
    STAGE_FAILED=1
  }
}

maven_verify_kubernetes() {
  maven_tool_flags
  (cd "$SPAWNLET_ROOT" && mvn -B -o verify -pl e2e -Dgroups=kubernetes \
    -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false "${MAVEN_TOOL_FLAGS[@]}") || {
    MAVEN_RC=$?
    STAGE_FAILED=1
  }
}

# The Kubernetes binaries and helm build in the background (about 20-35 minutes cold on 2 cores,
# nothing when cached) while the images build and the other suites run.
K8S_BUILD_PID="" K8S_BUILD_LOG=""
kubernetes_tools_start() {
  mkdir -p "$SPAWNLET_CACHE"
  K8S_BUILD_LOG="$SPAWNLET_CACHE/go-tools/kubernetes-tools-build.log"
  mkdir -p "$(dirname "$K8S_BUILD_LOG")"
  # The paths are fixed by the versions; the builds below make them real.
  export SPAWNLET_K8S_TOOLS="$KUBERNETES_DIR" SPAWNLET_ETCD="$ETCD_DIR/etcd"
  export SPAWNLET_HELM="$HELM_DIR/helm"
  # errexit stays on inside (not in an && list, where bash would turn it off for the functions).
  (
    set -e
    k8s_tools_main
    build_helm
  ) >"$K8S_BUILD_LOG" 2>&1 &
  K8S_BUILD_PID=$!
  log "building the Kubernetes tools and helm in the background (pid $K8S_BUILD_PID, log $K8S_BUILD_LOG)"
}

kubernetes_tools_wait() {
  if ! wait "$K8S_BUILD_PID"; then
    tail -n 40 "$K8S_BUILD_LOG" >&2
    die "building the Kubernetes tools failed: see $K8S_BUILD_LOG (rerun: scripts/setup.sh --kubernetes)"
  fi
  tail -n 3 "$K8S_BUILD_LOG" >&2
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
  setup_main
  stage "kubernetes tools + helm (started)" kubernetes_tools_start
  test_images_main
  test_registry_populate
  stage "mvn install (unit, integration, e2e but Kubernetes)" maven_verify_without_kubernetes
  stage "kubernetes tools + helm (waited)" kubernetes_tools_wait
  stage "mvn verify (e2e Kubernetes suites)" maven_verify_kubernetes
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
