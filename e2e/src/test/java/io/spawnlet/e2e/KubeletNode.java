package io.spawnlet.e2e;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * An ordinary node of a {@link ControlPlane}: the upstream kubelet v1.34 (built by
 * scripts/k8s-tools.sh) on Debian's containerd 1.6, started and removed through
 * scripts/kubelet-node.sh so tests and people share one way of running it. Both are private to the
 * node's directory (state, sockets, CNI config, kubelet root and pod logs); the node has its own
 * CNI bridge and /24, its own cgroup root, and pulls from a {@link LoopbackRegistry} over plain
 * HTTP, including its sandbox image (bench/pause/pause.c, pushed there first).
 */
public final class KubeletNode implements AutoCloseable {
  private static final Duration SCRIPT_TIMEOUT = Duration.ofMinutes(4);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Path dir;
  private final String name;
  private final String bridge;
  private final String subnet;
  private final ControlPlane controlPlane;

  private KubeletNode(
      Path dir, String name, String bridge, String subnet, ControlPlane controlPlane) {
    this.dir = dir;
    this.name = name;
    this.bridge = bridge;
    this.subnet = subnet;
    this.controlPlane = controlPlane;
  }

  /**
   * Pushes the pause image to {@code registry}, then starts containerd and the kubelet in {@code
   * dir} as node {@code name} of {@code controlPlane}; returns once the kubelet's healthz answers
   * (the Node may still be NotReady for a moment: see {@link #awaitReady}).
   */
  public static KubeletNode start(
      Path dir, String name, ControlPlane controlPlane, LoopbackRegistry registry) {
    String pauseImage = registry.host() + "/spawnlet-test/pause:1";
    script(dir, "pause-image", pauseImage).requireSuccess();
    String suffix = HexFormat.of().toHexDigits(RANDOM.nextInt()).substring(0, 6);
    String bridge = "knb" + suffix;
    String subnet = freeSubnet();
    KubeletNode node = new KubeletNode(dir.toAbsolutePath(), name, bridge, subnet, controlPlane);
    ProcessResult started =
        script(
            dir,
            "start",
            dir.toString(),
            "--name",
            name,
            "--kubeconfig",
            controlPlane.nodeKubeconfig(name).toString(),
            "--ca",
            controlPlane.caCertificate().toString(),
            "--registry",
            registry.host(),
            "--pause-image",
            pauseImage,
            "--bridge",
            bridge,
            "--subnet",
            subnet);
    if (!started.succeeded()) {
      node.close();
      throw new AssertionError("the kubelet node " + name + " did not start: " + started);
    }
    return node;
  }

  /** Waits until the Node reports Ready. */
  public KubeletNode awaitReady(Duration timeout) {
    // kubectl wait fails at once on a Node that is not registered yet.
    await("node " + name + " registered")
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(500))
        .until(() -> controlPlane.kubectl("get", "node", name).succeeded());
    controlPlane
        .kubectl(
            "wait",
            "--for=condition=Ready",
            "node/" + name,
            "--timeout=" + timeout.toSeconds() + "s")
        .requireSuccess();
    return this;
  }

  /** The node's name (kubelet's --hostname-override; also its hostname label). */
  public String name() {
    return name;
  }

  /** containerd's socket (its CRI plugin serves there too), for crictl. */
  public Path containerdSocket() {
    return dir.resolve("containerd/containerd.sock");
  }

  /** The node's CNI bridge and subnet (for pods of its own containerd). */
  public String bridge() {
    return bridge;
  }

  public String subnet() {
    return subnet;
  }

  public Path dir() {
    return dir;
  }

  /** The tail of the kubelet's or containerd's log, for failure messages. */
  public String logTail(String component) {
    try {
      List<String> lines = Files.readAllLines(dir.resolve("logs").resolve(component + ".log"));
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return e.toString();
    }
  }

  /**
   * Deletes the Node object (when the apiserver still answers), stops the kubelet and containerd
   * and removes what they left on the host: pods, mounts, netns, bridge, cgroups, kernel tunables.
   */
  @Override
  public void close() {
    controlPlane.kubectl("delete", "node", name, "--ignore-not-found", "--wait=false");
    script(dir, "stop", dir.toString()).requireSuccess();
  }

  /** A 10.x.y.0/24 that no route on this host covers yet (tests running at once pick others). */
  private static String freeSubnet() {
    String routes =
        ProcessResult.run(List.of("ip", "-4", "route"), Map.of(), scratch(), SCRIPT_TIMEOUT)
            .requireSuccess();
    for (int tries = 0; tries < 100; tries++) {
      String prefix = "10." + (160 + RANDOM.nextInt(40)) + "." + RANDOM.nextInt(256) + ".";
      if (!routes.contains(prefix)) {
        return prefix + "0/24";
      }
    }
    throw new IllegalStateException("no free 10.160-199.x.0/24 subnet on this host:\n" + routes);
  }

  private static Path scratch() {
    return Path.of(System.getProperty("java.io.tmpdir"));
  }

  private static ProcessResult script(Path dir, String... args) {
    Path script = ControlPlane.repositoryRoot().resolve("scripts").resolve("kubelet-node.sh");
    List<String> command = new ArrayList<>(List.of("bash", script.toString()));
    command.addAll(List.of(args));
    Map<String, String> env = new HashMap<>();
    env.put("SPAWNLET_KUBELET", ControlPlane.k8sTools().resolve("kubelet").toString());
    E2eEnvironment.fromSystem()
        .crictl()
        .ifPresent(crictl -> env.put("SPAWNLET_CRICTL", crictl.toString()));
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the kubelet node's directory " + dir, e);
    }
    return ProcessResult.run(
        command, env, dir.resolveSibling(dir.getFileName() + "-scratch"), SCRIPT_TIMEOUT);
  }
}
