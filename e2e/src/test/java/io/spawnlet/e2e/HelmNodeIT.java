package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chart on a real node, as an operator installs it: the e2e control plane with one ordinary
 * node ({@link KubeletNode}: upstream kubelet + containerd), the node image built and pushed to a
 * loopback registry, then {@code helm install} → the DaemonSet pod runs {@code spawnlet node} from
 * that image → the node {@code <host>-spawnlet} turns Ready → a {@code runtimeClassName: spawnlet}
 * pod (debian-systemd) is scheduled there, boots and answers HTTP → {@code helm upgrade} with a
 * changed value rolls the agent while that pod keeps running (same container, no restart) → {@code
 * helm uninstall} removes the node. Every host path the chart uses is under the test's temp dir.
 */
@KubernetesSuite
class HelmNodeIT {
  private static final Duration SLOW = Duration.ofMinutes(4);
  private static final String NAMESPACE = "spawnlet-system";

  @TempDir static Path work;
  private static ControlPlane controlPlane;
  private static LoopbackRegistry registry;
  private static KubeletNode node;
  private static Path hostRoot;
  private static String image;
  private static String bridge = "";
  private static String subnetPrefix = "10.255.255.255.";

  @BeforeAll
  static void start() throws IOException {
    // Minutes of image build and two node agents: its own command, scripts/test-helm-node.sh.
    Assumptions.assumeTrue(
        Boolean.getBoolean("spawnlet.helmNode"),
        "the chart-on-a-node suite runs with -Dspawnlet.helmNode=true (scripts/test-helm-node.sh)");
    controlPlane = ControlPlane.start(work.resolve("control-plane"));
    registry =
        LoopbackRegistry.start(
            Files.createDirectories(work.resolve("empty-storage")), work.resolve("registry"), null);
    String tag = "it-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
    image = registry.host() + "/spawnlet/spawnlet:" + tag;
    // -Dspawnlet.nodeImageTar=FILE: an image scripts/node-image.sh built before (no rebuild).
    String prebuilt = System.getProperty("spawnlet.nodeImageTar", "");
    if (!prebuilt.isBlank()) {
      registry.push("oci-archive:" + prebuilt, image.substring(registry.host().length() + 1));
    } else {
      run(
              Duration.ofMinutes(10),
              "bash",
              ControlPlane.repositoryRoot().resolve("scripts/node-image.sh").toString(),
              "--push",
              image,
              "--insecure")
          .requireSuccess();
    }
    String name = "host-" + tag;
    node = KubeletNode.start(work.resolve("node"), name, controlPlane, registry);
    node.awaitReady(SLOW);
    // The DaemonSet mounts its state and run dirs with Bidirectional propagation: their host
    // side must be a shared mount (this host's / is private).
    hostRoot = Files.createDirectories(work.resolve("host"));
    run(Duration.ofSeconds(30), "mount", "--bind", hostRoot.toString(), hostRoot.toString())
        .requireSuccess();
    run(Duration.ofSeconds(30), "mount", "--make-shared", hostRoot.toString()).requireSuccess();
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
    if (hostRoot != null) {
      removeSpawnletLeftovers();
    }
    if (registry != null) {
      registry.close();
    }
    if (controlPlane != null) {
      controlPlane.close();
    }
  }

  @Test
  void installsRunsASystemPodUpgradesAndUninstalls() throws IOException {
    String systemImage =
        registry.push(
            "oci:" + E2eEnvironment.fromSystem().testImageReference("debian-systemd"),
            "test/debian-systemd:latest");
    int third = ThreadLocalRandom.current().nextInt(256);
    String subnet = "10." + (200 + ThreadLocalRandom.current().nextInt(40)) + "." + third + ".0/24";
    subnetPrefix = subnet.substring(0, subnet.lastIndexOf('.') + 1);
    bridge = "spl" + Integer.toHexString(third | 0x1000);
    Path values =
        Files.writeString(
            work.resolve("values.yaml"),
            """
            image: {repository: %s, tag: %s}
            nodeSelector: {kubernetes.io/hostname: %s}
            apiServer: {host: 127.0.0.1, port: "%s"}
            node: {kubeletPort: %d}
            health: {port: %d}
            config:
              idleTimeout: 5m
              cni: {bridge: %s, subnet: %s}
              registries: {"%s": {insecure: true}}
            hostPaths: {state: %s/state, run: %s/run, logs: %s/logs, cniBin: %s/cni-bin, cniConf: %s/cni-conf, modules: "%s"}
            cleanup: {onUninstall: true, timeoutSeconds: 60}
            """
                .formatted(
                    image.substring(0, image.lastIndexOf(':')),
                    image.substring(image.lastIndexOf(':') + 1),
                    node.name(),
                    controlPlane.url().substring(controlPlane.url().lastIndexOf(':') + 1),
                    freePort(),
                    freePort(),
                    bridge,
                    subnet,
                    registry.host(),
                    hostRoot,
                    hostRoot,
                    hostRoot,
                    hostRoot,
                    hostRoot,
                    Files.isDirectory(Path.of("/lib/modules")) ? "/lib/modules" : ""));
    helm(
            "install",
            "spawnlet",
            chart(),
            "-n",
            NAMESPACE,
            "--create-namespace",
            "-f",
            values.toString())
        .requireSuccess();

    // The DaemonSet pod runs spawnlet node from the pushed image; its node turns Ready.
    String agentPod = awaitAgentPod("");
    String spawnletNode = node.name() + "-spawnlet";
    await("node " + spawnletNode + " registered")
        .atMost(SLOW)
        .pollInterval(Duration.ofSeconds(1))
        .until(() -> controlPlane.kubectl("get", "node", spawnletNode).succeeded());
    ProcessResult ready =
        controlPlane.kubectl(
            "wait", "--for=condition=Ready", "node/" + spawnletNode, "--timeout=110s");
    assertThat(ready.succeeded()).as("%s Ready: %s\n%s", spawnletNode, ready, agentLogs()).isTrue();

    // A system pod lands there (the RuntimeClass's scheduling), boots and serves.
    Path pod =
        Files.writeString(
            work.resolve("system-pod.yaml"),
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: deb, namespace: default}
            spec:
              runtimeClassName: spawnlet
              containers:
              - {name: os, image: %s}
            """
                .formatted(systemImage));
    controlPlane.kubectl("apply", "-f", pod.toString()).requireSuccess();
    ProcessResult running =
        controlPlane.kubectl(
            "wait", "--for=jsonpath={.status.phase}=Running", "pod/deb", "--timeout=110s");
    assertThat(running.succeeded()).as("system pod Running: %s\n%s", running, agentLogs()).isTrue();
    assertThat(
            controlPlane
                .kubectl("get", "pod", "deb", "-o", "jsonpath={.spec.nodeName}")
                .requireSuccess())
        .isEqualTo(spawnletNode);
    String podIp =
        controlPlane
            .kubectl("get", "pod", "deb", "-o", "jsonpath={.status.podIP}")
            .requireSuccess();
    PodHttp.awaitBody("http://" + podIp + "/", SLOW, body -> assertThat(body).contains("hello"));
    Crictl crictl = spawnletCrictl();
    String containerId = crictl.runTrimmed("ps", "-q", "--name", "os");
    assertThat(containerId).isNotBlank();
    Files.writeString(work.resolve("sandbox-ids"), crictl.run("pods", "-q"));

    // helm upgrade with a changed value: a new agent pod; the system pod runs on untouched.
    HelmUpgradeDiagnostics diagnostics = HelmUpgradeDiagnostics.start(containerdCrictl(), hostRoot);
    try {
      upgradeKeepsThePod(values, agentPod, spawnletNode, crictl, containerId, podIp);
    } finally {
      diagnostics.finish(containerdCrictl(), crictl, node.dir().resolve("logs"));
    }

    // helm uninstall: the pre-delete Job releases the node; the Node object goes.
    ProcessResult uninstalled =
        helm("uninstall", "spawnlet", "-n", NAMESPACE, "--wait", "--timeout", "5m");
    assertThat(uninstalled.succeeded())
        .as(
            "helm uninstall: %s\nrelease Job:\n%s\n%s",
            uninstalled,
            controlPlane
                .kubectl("logs", "-n", NAMESPACE, "-l", "spawnlet.io/role=uninstall", "--tail=40")
                .stdout(),
            agentLogs())
        .isTrue();
    assertThat(controlPlane.kubectl("get", "node", spawnletNode).stderr()).contains("NotFound");
    // The agent acted on the release (cleanup.onUninstall): had it not, the system pod would run
    // on after its agent went. No process and no mount of spawnlet's is left below the host dirs.
    await("no spawnlet process or mount left under " + hostRoot)
        .atMost(Duration.ofMinutes(1))
        .pollInterval(Duration.ofSeconds(1))
        .untilAsserted(() -> assertThat(hostLeftovers()).isEmpty());
  }

  /** Processes running from or in the host dirs, and mounts below them (one per line). */
  private static String hostLeftovers() {
    String script =
        """
        root=$1
        for p in /proc/[0-9]*; do
          if tr '\\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF "$root/" ||
             [[ $(readlink "$p/root" 2>/dev/null) == "$root/"* ]]; then
            echo "process ${p#/proc/}: $(tr '\\0' ' ' <"$p/cmdline" 2>/dev/null)"
          fi
        done
        awk -v d="$root/" 'index($5, d) == 1 {print "mount " $5}' /proc/self/mountinfo
        """;
    return run(Duration.ofSeconds(30), "bash", "-c", script, "leftovers", hostRoot.toString())
        .requireSuccess()
        .strip();
  }

  private static void upgradeKeepsThePod(
      Path values,
      String agentPod,
      String spawnletNode,
      Crictl crictl,
      String containerId,
      String podIp) {
    helm(
            "upgrade",
            "spawnlet",
            chart(),
            "-n",
            NAMESPACE,
            "-f",
            values.toString(),
            "--set",
            "config.idleTimeout=7m")
        .requireSuccess();
    awaitAgentPod(agentPod);
    controlPlane
        .kubectl("wait", "--for=condition=Ready", "node/" + spawnletNode, "--timeout=110s")
        .requireSuccess();
    assertThat(crictl.runTrimmed("ps", "-q", "--name", "os")).isEqualTo(containerId);
    assertThat(
            controlPlane
                .kubectl(
                    "get",
                    "pod",
                    "deb",
                    "-o",
                    "jsonpath={.status.containerStatuses[0].restartCount}")
                .requireSuccess())
        .isEqualTo("0");
    PodHttp.awaitBody("http://" + podIp + "/", SLOW, body -> assertThat(body).contains("hello"));
  }

  /** Waits for a Running, Ready agent pod other than {@code previous}; returns its uid. */
  private static String awaitAgentPod(String previous) {
    // kubectl runs at most 2 minutes (ControlPlane): wait in rounds.
    ProcessResult rolled = null;
    for (int round = 0; round < 3 && (rolled == null || !rolled.succeeded()); round++) {
      rolled =
          controlPlane.kubectl(
              "rollout", "status", "daemonset/spawnlet", "-n", NAMESPACE, "--timeout=100s");
    }
    assertThat(rolled.succeeded()).as("DaemonSet rolled out: %s\n%s", rolled, agentLogs()).isTrue();
    String uid =
        controlPlane
            .kubectl(
                "get",
                "pods",
                "-n",
                NAMESPACE,
                "-l",
                "app.kubernetes.io/name=spawnlet",
                "--field-selector=status.phase=Running",
                "-o",
                "jsonpath={.items[*].metadata.uid}")
            .requireSuccess()
            .strip();
    assertThat(uid).isNotBlank().doesNotContain(" ").isNotEqualTo(previous);
    return uid;
  }

  /**
   * What the agent may have left when the test failed half-way: its pods' processes (conmon names
   * the host dir; the containers' root is under it), mounts, bridge, netns and pod cgroups.
   */
  private static void removeSpawnletLeftovers() {
    String script =
        """
        root=$1 bridge=$2 prefix=$3
        for p in /proc/[0-9]*; do
          pid=${p#/proc/}
          if tr '\\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF "$root/" ||
             [[ $(readlink "$p/root" 2>/dev/null) == "$root/"* ]]; then
            kill -KILL "$pid" 2>/dev/null || true
          fi
        done
        sleep 0.5
        awk -v d="$root" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r |
          while read -r m; do umount -l "$m" 2>/dev/null || true; done
        [[ -n $bridge ]] && ip link delete "$bridge" 2>/dev/null
        for ns in $(ls /run/netns 2>/dev/null); do
          ip -n "$ns" -4 -o addr show 2>/dev/null | grep -qF " inet $prefix" && ip netns delete "$ns"
        done
        for id in $(cat "$root/../sandbox-ids" 2>/dev/null); do
          for d in /sys/fs/cgroup/*/spawnlet/$id; do
            [[ -d $d ]] && find "$d" -depth -type d -exec rmdir {} \\; 2>/dev/null
          done
        done
        true
        """;
    run(
        Duration.ofMinutes(1),
        "bash",
        "-c",
        script,
        "cleanup",
        hostRoot.toString(),
        bridge,
        subnetPrefix);
  }

  private static Crictl containerdCrictl() {
    return new Crictl(crictlBinary(), node.containerdSocket(), work.resolve("crictl"));
  }

  private static String agentLogs() {
    Crictl containerd = containerdCrictl();
    String latest =
        containerd
            .tryRun("ps", "-a", "-q", "--name", "spawnlet")
            .stdout()
            .lines()
            .findFirst()
            .orElse("");
    return controlPlane.kubectl("get", "pods", "-A", "-o", "wide").stdout()
        + controlPlane.kubectl("describe", "pods", "-n", NAMESPACE).stdout()
        + "\nkubelet:\n"
        + node.logTail("kubelet")
        + "\nagent containers:\n"
        + containerd.tryRun("ps", "-a")
        + (latest.isBlank()
            ? ""
            : "\nagent log:\n" + containerd.tryRun("logs", "--tail", "60", latest));
  }

  private static Crictl spawnletCrictl() {
    return new Crictl(crictlBinary(), hostRoot.resolve("run/cri.sock"), work.resolve("crictl"));
  }

  private static Path crictlBinary() {
    return E2eEnvironment.fromSystem()
        .crictl()
        .orElseThrow(() -> new IllegalStateException("spawnlet.crictl is not set"));
  }

  private static int freePort() throws IOException {
    try (var socket = new java.net.ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static String chart() {
    return ControlPlane.repositoryRoot().resolve("charts/spawnlet").toString();
  }

  private static ProcessResult helm(String... args) {
    return HelmChartIT.helmAs(controlPlane, work.resolve("helm-home"), Duration.ofMinutes(6), args);
  }

  private static ProcessResult run(Duration timeout, String... command) {
    return ProcessResult.run(List.of(command), Map.of(), work.resolve("scratch"), timeout);
  }
}
