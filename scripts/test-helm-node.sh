#!/usr/bin/env bash
# The Helm chart on a real node (issue 9, acceptance 2), outside scripts/test.sh because it builds
# and pushes the node image and runs two node agents (minutes on a 2-CPU machine):
#   scripts/test-helm-node.sh
# e2e HelmNodeIT: control plane + an ordinary node (upstream kubelet on a private containerd,
# scripts/kubelet-node.sh) + a loopback registry; helm install -> the DaemonSet runs spawnlet node
# -> <host>-spawnlet Ready -> a runtimeClassName: spawnlet pod answers -> helm upgrade rolls the
# agent, the pod keeps running -> helm uninstall removes the node. Needs root and what
# scripts/setup.sh kubernetes and scripts/test-images.sh build; run from the repository root.
set -euo pipefail

SPAWNLET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
source "$SPAWNLET_ROOT/scripts/lib/common.sh"
# shellcheck source=setup.sh
source "$SPAWNLET_ROOT/scripts/setup.sh"
setup_main kubernetes
# shellcheck source=test-images.sh
source "$SPAWNLET_ROOT/scripts/test-images.sh"
test_images_main

helm_node_suite() {
  (cd "$SPAWNLET_ROOT" && mvn -B -q -DskipTests install)
  (cd "$SPAWNLET_ROOT/e2e" && mvn -B -o verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
    -Dit.test=HelmNodeIT -Dspawnlet.helmNode=true -Dspawnlet.crictl="$SPAWNLET_CRICTL" \
    -Dspawnlet.testImages="$SPAWNLET_TEST_IMAGES" -Dspawnlet.helm="$SPAWNLET_HELM")
}
stage "helm chart on a kubelet node" helm_node_suite
stage_summary
