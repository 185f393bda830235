package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 7's acceptance on a real control plane with {@code spawnlet agent} as its node (a separate
 * process from the CRI daemon): a Deployment of three Debian systemd pods with {@code
 * runtimeClassName: spawnlet} placed by kube-scheduler, Ready through an HTTP readiness probe on
 * nginx; a socket-activated pod that sleeps ({@code spawnlet.io/Awake=False}) and wakes on a
 * connection to its pod IP; an image pulled from an htpasswd registry with imagePullSecrets; pods
 * spawnlet cannot run refused with a reason and an event while a later pod runs; the apiserver
 * stopped for two minutes and the agent SIGKILLed, neither restarting a container; scaling down and
 * deleting with systemd's poweroff (exit code 0) and no sandbox left.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@KubernetesSuite
class AgentSystemPodsIT {
  private static final Duration SLOW = Duration.ofSeconds(180);
  private static final String SYSTEMD_IMAGE = SystemPodConfigs.IMAGE;
  private static final String PASSWORD = "agent-pass";
  private static final int ACTIVATED_PORT = 8080;

  @RegisterExtension static final SpawnletDaemon DAEMON = SpawnletDaemon.create();

  private static AgentNode node;
  private static LoopbackRegistry registry;
  private static Path server;

  @BeforeAll
  static void startClusterAndAgent() throws Exception {
    DAEMON.importTestImage("busybox", CriProtos.BUSYBOX);
    DAEMON.importTestImage("debian-systemd", SYSTEMD_IMAGE);
    server = ActivationIT.compileServer(DAEMON.base().resolve("bin"));
    node = AgentNode.start(DAEMON, "spawnlet-agent-sys-e2e-");
    E2eEnvironment.fromSystem()
        .testRegistryStorage()
        .filter(Files::isDirectory)
        .ifPresent(
            storage ->
                registry =
                    LoopbackRegistry.start(storage, node.base().resolve("registry"), PASSWORD));
    Path runtimeClass = repositoryRoot().resolve("deploy/runtimeclass-spawnlet.yaml");
    node.kubectl("apply", "-f", runtimeClass.toString());
    await("node Ready")
        .atMost(SLOW)
        .untilAsserted(
            () ->
                assertThat(
                        node.field(
                            "node",
                            node.cluster().nodeName(),
                            "{.status.conditions[?(@.type==\"Ready\")].status}"))
                    .as(node.agentLogTail())
                    .isEqualTo("True"));
  }

  @AfterAll
  static void stopAll() throws Exception {
    try {
      if (registry != null) {
        registry.close();
      }
    } finally {
      if (node != null) {
        node.close();
      }
    }
  }

  @Test
  @Order(1)
  void aDeploymentOfThreeSystemdPodsRunsAndTurnsReady() {
    node.apply(
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: debian}
        spec:
          replicas: 3
          selector: {matchLabels: {app: debian}}
          template:
            metadata: {labels: {app: debian}}
            spec:
              runtimeClassName: spawnlet
              terminationGracePeriodSeconds: 30
              containers:
              - name: os
                image: %s
                imagePullPolicy: IfNotPresent
                ports: [{containerPort: 80}]
                readinessProbe:
                  httpGet: {path: /, port: 80}
                  periodSeconds: 2
        """
            .formatted(SYSTEMD_IMAGE));
    await("3 debian pods Ready")
        .atMost(Duration.ofMinutes(6))
        .untilAsserted(
            () ->
                assertThat(node.field("deployment", "debian", "{.status.readyReplicas}"))
                    .as(node.agentLogTail())
                    .isEqualTo("3"));
    String nodes =
        node.kubectl("get", "pods", "-l", "app=debian", "-o", "jsonpath={.items[*].spec.nodeName}");
    assertThat(nodes.split(" ")).hasSize(3).containsOnly(node.cluster().nodeName());
    String handlers =
        DAEMON.crictl().run("pods", "--label", "app=debian", "-o", "json").replaceAll("\\s", "");
    assertThat(handlers).contains("\"runtimeHandler\":\"system\"");
  }

  @Test
  @Order(2)
  void aSocketActivatedPodSleepsAndWakesOnAConnectionToItsPodIp() throws Exception {
    node.apply(
        """
        apiVersion: v1
        kind: Pod
        metadata:
          name: sleeper
          annotations:
            spawnlet.io/activation: socket
            spawnlet.io/activation-ports: "%d/tcp"
            spawnlet.io/idle-timeout: 60s
        spec:
          terminationGracePeriodSeconds: 5
          tolerations: [{key: spawnlet.io/system-containers, operator: Exists}]
          containers:
          - name: server
            image: %s
            imagePullPolicy: Never
            command: ["/listen-fds-server"]
            ports: [{containerPort: %d}]
            volumeMounts: [{name: bin, mountPath: /listen-fds-server, readOnly: true}]
          volumes:
          - {name: bin, hostPath: {path: %s, type: File}}
        """
            .formatted(ACTIVATED_PORT, CriProtos.BUSYBOX, ACTIVATED_PORT, server));
    await("sleeper asleep")
        .atMost(SLOW)
        .untilAsserted(
            () -> assertThat(awake("sleeper")).as(node.agentLogTail()).isEqualTo("False"));
    assertThat(node.field("pod", "sleeper", "{.status.phase}")).isEqualTo("Running");
    String ip = node.field("pod", "sleeper", "{.status.podIP}");

    assertThat(request(ip, ACTIVATED_PORT)).startsWith("HTTP/1.0 200 OK");
    await("sleeper awake")
        .atMost(SLOW)
        .untilAsserted(() -> assertThat(awake("sleeper")).isEqualTo("True"));
    assertThat(node.field("pod", "sleeper", "{.status.containerStatuses[0].restartCount}"))
        .isEqualTo("0");
    await("Woken event")
        .atMost(SLOW)
        .untilAsserted(
            () ->
                assertThat(
                        node.kubectl(
                            "get", "events", "--field-selector", "involvedObject.name=sleeper"))
                    .contains("Sleeping")
                    .contains("Woken"));
  }

  @Test
  @Order(3)
  void anImageFromAnAuthenticatedRegistryIsPulledWithImagePullSecrets() {
    Assumptions.assumeTrue(
        registry != null,
        "SPAWNLET_TEST_REGISTRY_STORAGE is not set: run scripts/test-registry.sh populate");
    String auth =
        Base64.getEncoder()
            .encodeToString(
                (LoopbackRegistry.USER + ":" + PASSWORD).getBytes(StandardCharsets.UTF_8));
    String dockerConfig = "{\"auths\":{\"" + registry.host() + "\":{\"auth\":\"" + auth + "\"}}}";
    node.apply(
        """
        apiVersion: v1
        kind: Secret
        metadata: {name: registry-creds}
        type: kubernetes.io/dockerconfigjson
        data:
          .dockerconfigjson: %s
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: pulled}
        spec:
          terminationGracePeriodSeconds: 1
          tolerations: [{key: spawnlet.io/system-containers, operator: Exists}]
          imagePullSecrets: [{name: registry-creds}]
          containers:
          - name: main
            image: %s/busybox:latest
            imagePullPolicy: IfNotPresent
            command: ["sleep", "3600"]
        """
            .formatted(
                Base64.getEncoder().encodeToString(dockerConfig.getBytes(StandardCharsets.UTF_8)),
                registry.host()));
    await("pulled Running")
        .atMost(SLOW)
        .untilAsserted(
            () ->
                assertThat(node.field("pod", "pulled", "{.status.phase}"))
                    .as(node.agentLogTail() + "\nregistry:\n" + registry.logTail())
                    .isEqualTo("Running"));
    assertThat(registry.countGets("/v2/busybox/manifests/")).isPositive();
  }

  @Test
  @Order(4)
  void podsSpawnletCannotRunAreRefusedWithAReasonAndAnEventAndOthersStillRun() {
    node.apply(
        """
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata: {name: data}
        spec:
          accessModes: [ReadWriteOnce]
          resources: {requests: {storage: 1Mi}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: with-pvc}
        spec:
          nodeName: %2$s
          tolerations: [{key: spawnlet.io/system-containers, operator: Exists}]
          containers:
          - {name: main, image: %1$s, imagePullPolicy: Never, command: [sleep, "3600"],
             volumeMounts: [{name: data, mountPath: /data}]}
          volumes:
          - {name: data, persistentVolumeClaim: {claimName: data}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: with-propagation}
        spec:
          nodeName: %2$s
          tolerations: [{key: spawnlet.io/system-containers, operator: Exists}]
          containers:
          - {name: main, image: %1$s, imagePullPolicy: Never, command: [sleep, "3600"],
             volumeMounts: [{name: scratch, mountPath: /scratch, mountPropagation: HostToContainer}]}
          volumes:
          - {name: scratch, emptyDir: {}}
        """
            .formatted(CriProtos.BUSYBOX, node.cluster().nodeName()));
    for (String[] refused :
        new String[][] {
          {"with-pvc", "spec.volumes[0].persistentVolumeClaim"},
          {"with-propagation", "mountPropagation"}
        }) {
      String name = refused[0];
      await(name + " refused")
          .atMost(SLOW)
          .untilAsserted(
              () ->
                  assertThat(node.field("pod", name, "{.status.phase}"))
                      .as(node.agentLogTail())
                      .isEqualTo("Failed"));
      assertThat(node.field("pod", name, "{.status.reason}")).isEqualTo("SpawnletRefused");
      assertThat(node.field("pod", name, "{.status.message}")).contains(refused[1]);
      await(name + " event")
          .atMost(SLOW)
          .untilAsserted(
              () ->
                  assertThat(
                          node.kubectl(
                              "get", "events", "--field-selector", "involvedObject.name=" + name))
                      .contains("FailedCreate")
                      .contains(refused[1]));
    }

    node.apply(
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: after-refusals}
        spec:
          terminationGracePeriodSeconds: 1
          tolerations: [{key: spawnlet.io/system-containers, operator: Exists}]
          containers:
          - {name: main, image: %s, imagePullPolicy: Never, command: [sleep, "3600"]}
        """
            .formatted(CriProtos.BUSYBOX));
    await("after-refusals Ready")
        .atMost(SLOW)
        .untilAsserted(
            () ->
                assertThat(
                        node.field(
                            "pod",
                            "after-refusals",
                            "{.status.conditions[?(@.type==\"Ready\")].status}"))
                    .isEqualTo("True"));
    node.kubectl("delete", "pod", "with-pvc", "with-propagation", "--wait=true", "--timeout=90s");
  }

  @Test
  @Order(5)
  void aStaticPodHasAMirrorPodThatComesBackWhenDeletedAndGoesWithItsManifest() throws IOException {
    Path manifest = node.manifests().resolve("static-web.yaml");
    Files.writeString(
        manifest,
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: static-web, namespace: default, labels: {tier: static}}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - {name: main, image: %s, imagePullPolicy: Never, command: [sleep, "3600"]}
        """
            .formatted(CriProtos.BUSYBOX));
    await("mirror pod Running")
        .atMost(SLOW)
        .untilAsserted(
            () ->
                assertThat(
                        node.cluster()
                            .kubectl("get", "pod", "static-web", "-o", "jsonpath={.status.phase}")
                            .stdout()
                            .strip())
                    .as(node.agentLogTail())
                    .isEqualTo("Running"));
    String annotations = node.field("pod", "static-web", "{.metadata.annotations}");
    String hash =
        node.field("pod", "static-web", "{.metadata.annotations.kubernetes\\.io/config\\.hash}");
    assertThat(hash).isNotEmpty();
    assertThat(annotations)
        .contains("\"kubernetes.io/config.mirror\":\"" + hash + "\"")
        .contains("\"kubernetes.io/config.source\":\"file\"");
    assertThat(node.field("pod", "static-web", "{.metadata.ownerReferences[0].kind}"))
        .isEqualTo("Node");
    assertThat(node.field("pod", "static-web", "{.metadata.ownerReferences[0].name}"))
        .isEqualTo(node.cluster().nodeName());
    assertThat(node.field("pod", "static-web", "{.status.containerStatuses[0].containerID}"))
        .startsWith("spawnlet://");
    assertThat(DAEMON.crictl().run("pods", "--label", "io.kubernetes.pod.uid=" + hash, "-q"))
        .isNotBlank();

    String firstUid = node.field("pod", "static-web", "{.metadata.uid}");
    node.kubectl("delete", "pod", "static-web", "--wait=false");
    await("mirror pod recreated")
        .atMost(SLOW)
        .untilAsserted(
            () ->
                assertThat(
                        node.cluster()
                            .kubectl("get", "pod", "static-web", "-o", "jsonpath={.metadata.uid}")
                            .stdout()
                            .strip())
                    .isNotIn("", firstUid));
    await("recreated mirror Ready")
        .atMost(SLOW)
        .untilAsserted(
            () ->
                assertThat(
                        node.field(
                            "pod",
                            "static-web",
                            "{.status.conditions[?(@.type==\"Ready\")].status}"))
                    .isEqualTo("True"));
    // The static pod itself was not touched by the mirror's deletion.
    assertThat(node.field("pod", "static-web", "{.status.containerStatuses[0].restartCount}"))
        .isEqualTo("0");
  }

  @Test
  @Order(6)
  void anApiserverAwayForTwoMinutesRestartsNoPodAndStatusesAreRightAfterwards()
      throws InterruptedException {
    Map<String, String> before = awaitAllReady();
    node.cluster().stop("kube-apiserver");
    try {
      Thread.sleep(Duration.ofMinutes(2));
    } finally {
      node.cluster().restart();
    }
    await("pods Ready again with the same containers")
        .atMost(SLOW)
        .untilAsserted(() -> assertThat(podStates()).as(node.agentLogTail()).isEqualTo(before));
    assertThat(crictlRunningContainers()).containsAll(containerIds(before));
  }

  @Test
  @Order(7)
  void anAgentKilledWithSigkillAndRestartedRestartsNoContainer() throws InterruptedException {
    Map<String, String> before = awaitAllReady();
    String running = String.join(",", crictlRunningContainers());
    node.killAgent();
    node.startAgent();
    await("statuses after the restart")
        .atMost(SLOW)
        .untilAsserted(() -> assertThat(podStates()).isEqualTo(before));
    await("adopted, not recreated")
        .atMost(SLOW)
        .untilAsserted(
            () ->
                assertThat(node.agentLog())
                    .contains("pod default/after-refusals adopted")
                    .as(node.agentLogTail()));
    assertThat(String.join(",", crictlRunningContainers())).isEqualTo(running);
  }

  @Test
  @Order(8)
  void scalingDownAndDeletingPowerSystemdOffGracefullyAndRemoveTheSandboxes() {
    node.kubectl("scale", "deployment", "debian", "--replicas=1");
    await("one debian pod left")
        .atMost(SLOW)
        .untilAsserted(
            () -> {
              assertThat(
                      node.kubectl(
                              "get",
                              "pods",
                              "-l",
                              "app=debian",
                              "-o",
                              "jsonpath={.items[*].metadata.name}")
                          .split(" "))
                  .hasSize(1);
              assertThat(DAEMON.crictl().run("pods", "--label", "app=debian", "-q").strip().lines())
                  .hasSize(1);
            });
    node.kubectl("delete", "deployment", "debian", "--wait=true", "--timeout=120s");
    await("no debian pod or sandbox")
        .atMost(SLOW)
        .untilAsserted(
            () -> {
              assertThat(node.kubectl("get", "pods", "-l", "app=debian", "-o", "name")).isEmpty();
              assertThat(DAEMON.crictl().run("pods", "--label", "app=debian", "-q")).isBlank();
            });
    // systemd exits 0 after SIGRTMIN+3 (poweroff); 137 would mean the grace period ran out.
    String log = node.agentLog();
    assertThat(log.split("container os \\(attempt 0\\) stopped with exit code 0", -1))
        .as(node.agentLogTail())
        .hasSize(4);
    assertThat(log).doesNotContain("container os (attempt 0) stopped with exit code 137");
  }

  @Test
  @Order(9)
  void removingAStaticPodsManifestStopsItAndDeletesItsMirror() throws IOException {
    Files.delete(node.manifests().resolve("static-web.yaml"));
    await("mirror pod deleted")
        .atMost(SLOW)
        .untilAsserted(
            () ->
                assertThat(node.kubectl("get", "pods", "-l", "tier=static", "-o", "name"))
                    .as(node.agentLogTail())
                    .isEmpty());
    await("static sandbox removed")
        .atMost(SLOW)
        .untilAsserted(
            () -> assertThat(DAEMON.crictl().run("pods", "--name", "static-web", "-q")).isBlank());
  }

  /** name → containerID/restartCount/Ready of every pod, once all of them are Ready. */
  private static Map<String, String> awaitAllReady() {
    await("every pod Ready")
        .atMost(SLOW)
        .untilAsserted(() -> assertThat(podStates().values()).allMatch(s -> s.endsWith("/True")));
    return podStates();
  }

  private static Map<String, String> podStates() {
    String out =
        node.kubectl(
            "get",
            "pods",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name}={.status.containerStatuses[0].containerID}"
                + "/{.status.containerStatuses[0].restartCount}"
                + "/{.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}");
    Map<String, String> states = new TreeMap<>();
    out.lines()
        .filter(l -> l.contains("="))
        .forEach(l -> states.put(l.substring(0, l.indexOf('=')), l.substring(l.indexOf('=') + 1)));
    return states;
  }

  private static java.util.List<String> containerIds(Map<String, String> states) {
    return states.values().stream()
        .map(s -> s.substring("spawnlet://".length(), s.indexOf('/', "spawnlet://".length())))
        .toList();
  }

  private static java.util.List<String> crictlRunningContainers() {
    return DAEMON.crictl().run("ps", "-q", "--no-trunc").strip().lines().sorted().toList();
  }

  private static String awake(String pod) {
    return node.field("pod", pod, "{.status.conditions[?(@.type==\"spawnlet.io/Awake\")].status}");
  }

  private static String request(String ip, int port) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(ip, port), 10_000);
      s.setSoTimeout(60_000);
      s.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      try (InputStream in = s.getInputStream()) {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
    }
  }

  private static Path repositoryRoot() {
    return Path.of("").toAbsolutePath().getParent();
  }
}
