package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code spawnlet agent} as a node of a real control plane (etcd, kube-apiserver with the Node
 * authorizer and NodeRestriction, scheduler, controller-manager), driven with kubectl: the node
 * registers and turns Ready, its Lease renews; a pod scheduled onto it runs with env and volumes
 * from a configMap and a secret, its status carries the pod IP and spawnlet:// container ids; a
 * failing liveness probe restarts its container; {@code kubectl delete pod} removes the sandbox.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AgentIT {
  private static final Duration SLOW = Duration.ofSeconds(120);

  @RegisterExtension static final SpawnletDaemon DAEMON = SpawnletDaemon.create();

  private static Path base;
  private static ControlPlane cluster;
  private static Process agent;
  private static Path agentLog;

  @BeforeAll
  static void startClusterAndAgent() throws IOException {
    DAEMON.importTestImage("busybox", CriProtos.BUSYBOX);
    base = Files.createTempDirectory("spawnlet-agent-e2e-");
    cluster = ControlPlane.start(base.resolve("cluster"));
    agentLog = base.resolve("agent.log");
    E2eEnvironment env = E2eEnvironment.fromSystem();
    List<String> command =
        new ArrayList<>(
            List.of(
                env.java().toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-jar",
                env.requireSpawnletJar().toString(),
                "agent",
                "--kubeconfig",
                cluster.nodeKubeconfig().toString(),
                "--node-name",
                cluster.nodeName(),
                "--cri-socket",
                DAEMON.socket().toString(),
                "--root",
                base.resolve("root").toString(),
                "--pod-log-dir",
                DAEMON.podLogs().toString(),
                "--log-level",
                "debug"));
    agent =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(agentLog.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
            .start();
  }

  @AfterAll
  static void stopAll() throws Exception {
    try {
      if (agent != null) {
        agent.destroy();
        agent.waitFor();
      }
      if (cluster != null) {
        // Pods the tests left behind go with the daemon's own clean-up.
        cluster.close();
      }
    } finally {
      if (base != null) {
        deleteTree(base);
      }
    }
  }

  @Test
  @Order(1)
  void theNodeRegistersTurnsReadyAndRenewsItsLease() {
    String node = cluster.nodeName();
    await("node Ready")
        .atMost(SLOW)
        .untilAsserted(
            () ->
                assertThat(field("node", node, "{.status.conditions[?(@.type==\"Ready\")].status}"))
                    .as(agentLogTail())
                    .isEqualTo("True"));
    assertThat(field("node", node, "{.metadata.labels}"))
        .contains("\"spawnlet.io/node\":\"true\"")
        .contains("\"kubernetes.io/os\":\"linux\"");
    assertThat(field("node", node, "{.spec.taints[0].key}"))
        .isEqualTo("spawnlet.io/system-containers");
    assertThat(field("node", node, "{.status.nodeInfo.containerRuntimeVersion}"))
        .startsWith("spawnlet://");
    assertThat(field("node", node, "{.status.capacity.pods}")).isEqualTo("110");

    String renewed = leaseRenewTime();
    await("lease renewed")
        .atMost(Duration.ofSeconds(40))
        .untilAsserted(() -> assertThat(leaseRenewTime()).isNotEqualTo(renewed));
  }

  @Test
  @Order(2)
  void aScheduledPodRunsWithEnvAndVolumesFromAConfigMapAndASecret() throws Exception {
    kubectl("create", "configmap", "web-config", "--from-literal=greeting=hello-from-configmap");
    kubectl("create", "secret", "generic", "web-secret", "--from-literal=password=s3cret");
    apply(
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
          terminationGracePeriodSeconds: 2
          tolerations: [{key: spawnlet.io/system-containers, operator: Exists}]
          containers:
          - name: main
            image: %s
            imagePullPolicy: Never
            command: ["sh", "-c", "echo GREETING=$(GREETING) IP=$(MY_IP); cat /cfg/greeting; echo; cat /sec/password; echo; ls /var/run/secrets/kubernetes.io/serviceaccount; exec sleep 3600"]
            env:
            - {name: GREETING, valueFrom: {configMapKeyRef: {name: web-config, key: greeting}}}
            - {name: MY_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
            volumeMounts:
            - {name: cfg, mountPath: /cfg}
            - {name: sec, mountPath: /sec}
          volumes:
          - {name: cfg, configMap: {name: web-config}}
          - {name: sec, secret: {secretName: web-secret}}
        """
            .formatted(CriProtos.BUSYBOX));
    await("pod web Running")
        .atMost(SLOW)
        .untilAsserted(
            () ->
                assertThat(field("pod", "web", "{.status.phase}"))
                    .as(agentLogTail())
                    .isEqualTo("Running"));
    String ip = field("pod", "web", "{.status.podIP}");
    assertThat(ip).matches("\\d+\\.\\d+\\.\\d+\\.\\d+");
    String containerId = field("pod", "web", "{.status.containerStatuses[0].containerID}");
    assertThat(containerId).startsWith("spawnlet://");
    await("pod web Ready")
        .atMost(SLOW)
        .untilAsserted(
            () ->
                assertThat(field("pod", "web", "{.status.conditions[?(@.type==\"Ready\")].status}"))
                    .isEqualTo("True"));
    String id = containerId.substring("spawnlet://".length());
    await("pod output")
        .atMost(SLOW)
        .untilAsserted(
            () ->
                assertThat(DAEMON.crictl().run("logs", id))
                    .contains("GREETING=hello-from-configmap IP=" + ip)
                    .contains("s3cret")
                    .contains("token"));
    assertThat(DAEMON.crictl().run("exec", id, "cat", "/cfg/greeting"))
        .isEqualTo("hello-from-configmap");
  }

  @Test
  @Order(3)
  void aFailingLivenessProbeRestartsTheContainer() {
    apply(
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: flaky}
        spec:
          terminationGracePeriodSeconds: 1
          tolerations: [{key: spawnlet.io/system-containers, operator: Exists}]
          containers:
          - name: main
            image: %s
            imagePullPolicy: Never
            command: ["sh", "-c", "touch /tmp/healthy; sleep 3; rm /tmp/healthy; exec sleep 3600"]
            livenessProbe:
              exec: {command: [test, -f, /tmp/healthy]}
              periodSeconds: 1
              failureThreshold: 1
        """
            .formatted(CriProtos.BUSYBOX));
    await("flaky restarted")
        .atMost(SLOW)
        .untilAsserted(
            () ->
                assertThat(field("pod", "flaky", "{.status.containerStatuses[0].restartCount}"))
                    .as(agentLogTail())
                    .isNotIn("", "0"));
    assertThat(field("pod", "flaky", "{.status.containerStatuses[0].lastState}"))
        .contains("terminated");
    assertThat(kubectl("get", "events", "--field-selector", "involvedObject.name=flaky"))
        .contains("Liveness probe failed");
    kubectl("delete", "pod", "flaky", "--wait=true", "--timeout=90s");
  }

  @Test
  @Order(4)
  void kubectlDeletePodRemovesTheSandbox() {
    kubectl("delete", "pod", "web", "--wait=true", "--timeout=90s");
    assertThat(kubectlResult("get", "pod", "web").succeeded()).isFalse();
    await("sandbox removed")
        .atMost(SLOW)
        .untilAsserted(
            () -> assertThat(DAEMON.crictl().run("pods", "--name", "web", "-q")).isEmpty());
  }

  /** One field of an object, by kubectl's JSONPath ({@code {.status.phase}}). */
  private static String field(String kind, String name, String jsonPath) {
    return kubectl("get", kind, name, "-o", "jsonpath=" + jsonPath);
  }

  private static String leaseRenewTime() {
    return kubectl(
        "get",
        "lease",
        "-n",
        "kube-node-lease",
        cluster.nodeName(),
        "-o",
        "jsonpath={.spec.renewTime}");
  }

  private static void apply(String manifest) {
    try {
      Path file = Files.createTempFile(base, "manifest-", ".yaml");
      Files.writeString(file, manifest, StandardCharsets.UTF_8);
      kubectl("apply", "-f", file.toString());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static String kubectl(String... args) {
    return kubectlResult(args).requireSuccess().strip();
  }

  private static ProcessResult kubectlResult(String... args) {
    return cluster.kubectl(args);
  }

  private static String agentLogTail() {
    try {
      List<String> lines = Files.readAllLines(agentLog);
      return "agent log:\n"
          + String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "no agent log: " + e;
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
