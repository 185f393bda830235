package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The control plane the node agent is tested against, driven by the kubectl built with it: the
 * controller-manager makes namespaces usable (default service account), the scheduler marks a pod
 * Unschedulable while no node exists, RBAC grants a service account's token exactly its role,
 * server-side dry runs validate manifests, the node identity is held to the Node authorizer and
 * NodeRestriction, and a second control plane runs beside the first and survives an apiserver
 * restart with its data.
 */
@KubernetesSuite
class ControlPlaneIT {
  private static final Duration SLOW = Duration.ofSeconds(90);

  private static Path base;
  private static ControlPlane cluster;

  @BeforeAll
  static void startControlPlane() throws IOException {
    Assumptions.assumeTrue(
        ControlPlane.toolsBuilt(),
        "Kubernetes binaries not built: run scripts/k8s-tools.sh (scripts/test.sh does)");
    base = Files.createTempDirectory("spawnlet-k8s-e2e-");
    cluster = ControlPlane.start(base.resolve("cluster"));
  }

  @AfterAll
  static void stopControlPlane() throws IOException {
    if (cluster != null) {
      cluster.close();
    }
    if (base != null) {
      try (Stream<Path> paths = Files.walk(base)) {
        for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(path);
        }
      }
    }
  }

  private static String unique(String prefix) {
    return prefix + "-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 30), 36);
  }

  /** A namespace whose default service account exists (pods can be created in it). */
  private static String namespace() {
    String name = unique("it");
    cluster.kubectl("create", "namespace", name).requireSuccess();
    await()
        .atMost(SLOW)
        .until(() -> cluster.kubectl("get", "serviceaccount", "default", "-n", name).succeeded());
    return name;
  }

  private static String jsonpath(String namespace, String resource, String path) {
    return cluster
        .kubectl("get", resource, "-n", namespace, "-o", "jsonpath={" + path + "}")
        .requireSuccess();
  }

  private static ProcessResult apply(String manifest, String... flags) throws IOException {
    Path file = Files.createTempFile(base, "manifest-", ".yaml");
    Files.writeString(file, manifest);
    String[] args =
        Stream.concat(Stream.of("apply", "-f", file.toString()), Stream.of(flags))
            .toArray(String[]::new);
    return cluster.kubectl(args);
  }

  @Test
  void serverReportsItsVersionAndAnActiveNamespace() {
    assertThat(cluster.url()).startsWith("https://127.0.0.1:");
    assertThat(cluster.kubectl("version", "-o", "json").requireSuccess())
        .contains("\"gitVersion\": \"v1.34.4\"");
    String ns = namespace();
    assertThat(jsonpath(ns, "namespace/" + ns, ".status.phase")).isEqualTo("Active");
  }

  @Test
  void aPodWithoutNodesStaysPendingAndUnschedulable() throws IOException {
    String ns = namespace();
    apply(
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: waits, namespace: %s}
            spec:
              containers: [{name: c, image: busybox}]
            """
                .formatted(ns))
        .requireSuccess();
    String condition = ".status.conditions[?(@.type==\"PodScheduled\")]";
    await()
        .atMost(SLOW)
        .until(() -> jsonpath(ns, "pod/waits", condition + ".reason").equals("Unschedulable"));
    assertThat(jsonpath(ns, "pod/waits", condition + ".status")).isEqualTo("False");
    assertThat(jsonpath(ns, "pod/waits", ".status.phase")).isEqualTo("Pending");
    assertThat(jsonpath(ns, "pod/waits", ".spec.nodeName")).isEmpty();
  }

  @Test
  void aServiceAccountTokenGetsExactlyItsRole() {
    String ns = namespace();
    cluster.kubectl("create", "serviceaccount", "reader", "-n", ns).requireSuccess();
    String token = cluster.kubectl("create", "token", "reader", "-n", ns).requireSuccess().strip();
    assertThat(token.split("\\.")).hasSize(3);

    assertThat(
            asToken(token, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
                .requireSuccess())
        .isEqualTo("system:serviceaccount:" + ns + ":reader");
    ProcessResult denied = asToken(token, "get", "pods", "-n", ns);
    assertThat(denied.exitCode()).isNotZero();
    assertThat(denied.stderr()).contains("forbidden");

    cluster
        .kubectl("create", "role", "pod-reader", "--verb=get,list", "--resource=pods", "-n", ns)
        .requireSuccess();
    cluster
        .kubectl(
            "create",
            "rolebinding",
            "reader-reads",
            "--role=pod-reader",
            "--serviceaccount=" + ns + ":reader",
            "-n",
            ns)
        .requireSuccess();
    await().atMost(SLOW).until(() -> asToken(token, "get", "pods", "-n", ns).succeeded());
    assertThat(asToken(token, "get", "secrets", "-n", ns).stderr()).contains("forbidden");
  }

  private static ProcessResult asToken(String token, String... args) {
    String[] all =
        Stream.concat(
                Stream.of(
                    "--server=" + cluster.url(),
                    "--certificate-authority=" + cluster.caCertificate(),
                    "--token=" + token),
                Stream.of(args))
            .toArray(String[]::new);
    return cluster.kubectlAs(Path.of("/dev/null"), all);
  }

  @Test
  void serverSideDryRunValidatesManifests() throws IOException {
    String ns = namespace();
    String deployment =
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: %s}
        spec:
          replicas: %s
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              runtimeClassName: spawnlet
              containers: [{name: web, image: busybox}]
        """;
    assertThat(apply(deployment.formatted(ns, "3"), "--dry-run=server").requireSuccess())
        .contains("deployment.apps/web created (server dry run)");
    assertThat(cluster.kubectl("get", "deployment", "web", "-n", ns).stderr()).contains("NotFound");

    ProcessResult invalid = apply(deployment.formatted(ns, "-1"), "--dry-run=server");
    assertThat(invalid.exitCode()).isNotZero();
    assertThat(invalid.stderr()).contains("spec.replicas");
  }

  @Test
  void theNodeIdentityIsAKubeletToTheAuthorizer() throws IOException {
    Path node = cluster.nodeKubeconfig();
    String name = cluster.nodeName();
    assertThat(cluster.kubectlAs(node, "auth", "whoami", "-o", "json").requireSuccess())
        .contains("\"username\": \"system:node:" + name + "\"")
        .contains("\"system:nodes\"");
    // A taint keeps the scheduler from binding the other tests' pods to this kubelet-less node.
    String manifest =
        """
        apiVersion: v1
        kind: Node
        metadata:
          name: %s
          labels: {spawnlet.io/node: "true", kubernetes.io/hostname: %s}
        spec:
          taints: [{key: spawnlet.io/test, value: "true", effect: NoSchedule}]
        """;
    Path own = Files.createTempFile(base, "node-", ".yaml");
    Files.writeString(own, manifest.formatted(name, name));
    cluster.kubectlAs(node, "create", "-f", own.toString()).requireSuccess();
    Path other = Files.createTempFile(base, "node-", ".yaml");
    Files.writeString(other, manifest.formatted("someone-else", "someone-else"));
    assertThat(cluster.kubectlAs(node, "create", "-f", other.toString()).stderr())
        .contains("forbidden");

    Path lease = Files.createTempFile(base, "lease-", ".yaml");
    Files.writeString(
        lease,
        """
        apiVersion: coordination.k8s.io/v1
        kind: Lease
        metadata: {name: %s, namespace: kube-node-lease}
        spec: {holderIdentity: %s, leaseDurationSeconds: 40}
        """
            .formatted(name, name));
    cluster.kubectlAs(node, "create", "-f", lease.toString()).requireSuccess();
    assertThat(cluster.kubectlAs(node, "get", "secrets", "-A").stderr()).contains("forbidden");
    // The controller-manager's node IPAM gives the node its pod CIDR.
    await()
        .atMost(SLOW)
        .until(() -> jsonpath("default", "node/" + name, ".spec.podCIDR").startsWith("10.244."));
  }

  @Test
  void aSecondControlPlaneRunsBesideAndKeepsItsDataAcrossAnApiserverRestart() {
    try (ControlPlane second =
        ControlPlane.start(base.resolve("second"), "--node-name", "second-node")) {
      assertThat(second.url()).isNotEqualTo(cluster.url());
      assertThat(second.nodeName()).isEqualTo("second-node");
      String whoami = "jsonpath={.status.userInfo.username}";
      assertThat(
              second
                  .kubectlAs(second.nodeKubeconfig(), "auth", "whoami", "-o", whoami)
                  .requireSuccess())
          .isEqualTo("system:node:second-node");
      Path another = second.nodeKubeconfig("another-node");
      assertThat(second.kubectlAs(another, "auth", "whoami", "-o", whoami).requireSuccess())
          .isEqualTo("system:node:another-node");
      String ns = unique("kept");
      second.kubectl("create", "namespace", ns).requireSuccess();
      assertThat(cluster.kubectl("get", "namespace", ns).stderr()).contains("NotFound");

      second.stop("kube-apiserver");
      assertThat(second.kubectl("get", "namespace", ns).succeeded()).isFalse();
      second.restart();
      assertThat(second.kubectl("get", "namespace", ns).requireSuccess()).contains(ns);
    }
  }
}
