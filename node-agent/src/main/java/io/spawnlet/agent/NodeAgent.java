package io.spawnlet.agent;

import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.spawnlet.agent.node.HostFacts;
import io.spawnlet.agent.node.NodeHeartbeat;
import io.spawnlet.agent.node.NodeLease;
import io.spawnlet.agent.node.NodeSettings;
import io.spawnlet.agent.node.NodeStatusReporter;
import io.spawnlet.agent.pod.AgentSettings;
import io.spawnlet.agent.pod.ApiPodController;
import io.spawnlet.agent.pod.ApiPodInputs;
import io.spawnlet.agent.pod.MirrorPods;
import io.spawnlet.agent.pod.PodRuntime;
import io.spawnlet.agent.pod.StaticPodController;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node agent on a cluster: registers the node and keeps its status and Lease ({@link
 * NodeHeartbeat}), runs the pods the scheduler binds to it ({@link ApiPodController}) and, with a
 * manifest directory, static pods too. Closing it leaves the pods running.
 */
public final class NodeAgent implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NodeAgent.class);
  private static final Duration LEASE_DURATION = Duration.ofSeconds(40);

  private final KubernetesClient client;
  private final NodeHeartbeat heartbeat;
  private final ApiPodInputs inputs;
  private final ApiPodController pods;
  private final Optional<MirrorPods> mirrors;
  private final Optional<StaticPodController> staticPods;
  private final NodeRelease release;
  private final PodRuntime runtime;
  private final String nodeName;

  public NodeAgent(
      KubernetesClient client, AgentSettings settings, NodeSettings node, PodRuntime runtime) {
    this.client = client;
    this.runtime = runtime;
    this.nodeName = node.nodeName();
    this.release = new NodeRelease(client, node.nodeName(), this::leave);
    NodeStatusReporter status =
        new NodeStatusReporter(
            client, node, settings.stateDir(), runtime::runtimeProblems, runtime::runtimeVersion);
    this.heartbeat =
        new NodeHeartbeat(status, new NodeLease(client, node.nodeName(), LEASE_DURATION), node);
    this.inputs =
        new ApiPodInputs(
            client, node.nodeName(), node.hostIps(), () -> allocatable(settings.stateDir()));
    this.pods = new ApiPodController(client, settings, runtime, inputs);
    this.mirrors =
        settings.manifests().map(m -> new MirrorPods(client, node.nodeName(), node.hostIps()));
    this.staticPods =
        settings.manifests().map(m -> new StaticPodController(settings, runtime, mirrors));
  }

  /**
   * A client from a kubeconfig file, or (none given) the in-cluster service account config, or
   * $KUBECONFIG / ~/.kube/config.
   */
  public static KubernetesClient client(Optional<Path> kubeconfig) {
    Config config;
    if (kubeconfig.isPresent()) {
      try {
        config = Config.fromKubeconfig(Files.readString(kubeconfig.get()));
      } catch (IOException e) {
        throw new UncheckedIOException(
            "cannot read kubeconfig " + kubeconfig.get() + ": " + e.getMessage(), e);
      }
    } else {
      config = Config.autoConfigure(null);
    }
    return new KubernetesClientBuilder().withConfig(config).build();
  }

  /**
   * The node's IPv4 address: the one on the interface of the default route (stable while bridges
   * and veths of pods and tests come and go), else the first on an interface that is up, loopback
   * last (for a loopback-only host). {@code --node-ip} overrides it.
   */
  public static List<String> hostIps() {
    List<String> ips = new ArrayList<>();
    List<String> loopback = new ArrayList<>();
    Optional<String> routed = defaultRouteInterface();
    try {
      for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        if (!nic.isUp()
            || nic.getName().startsWith("spawnlet")
            || nic.getName().startsWith("veth")) {
          continue;
        }
        boolean preferred = routed.isPresent() && routed.get().equals(nic.getName());
        for (InetAddress a : Collections.list(nic.getInetAddresses())) {
          if (a instanceof Inet4Address) {
            if (a.isLoopbackAddress()) {
              loopback.add(a.getHostAddress());
            } else if (preferred) {
              ips.add(0, a.getHostAddress());
            } else {
              ips.add(a.getHostAddress());
            }
          }
        }
      }
    } catch (SocketException e) {
      log.warn("cannot list network interfaces: {}", e.getMessage());
    }
    if (ips.isEmpty()) {
      ips.addAll(loopback.isEmpty() ? List.of("127.0.0.1") : loopback);
    }
    return ips.subList(0, 1);
  }

  /** The interface of the IPv4 default route (destination 0.0.0.0/0 in /proc/net/route). */
  private static Optional<String> defaultRouteInterface() {
    try {
      return Files.readAllLines(Path.of("/proc/net/route")).stream()
          .skip(1)
          .map(l -> l.trim().split("\\s+"))
          .filter(f -> f.length > 7 && f[1].equals("00000000") && f[7].equals("00000000"))
          .map(f -> f[0])
          .findFirst();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  public void start() throws IOException {
    heartbeat.start();
    pods.start();
    if (staticPods.isPresent()) {
      staticPods.get().start();
    }
    release.start();
  }

  /**
   * The node leaves the cluster ({@link NodeRelease}): no more heartbeats (a deleted Node must not
   * be registered again), the apiserver's pods stopped and removed, with {@code cleanup} the images
   * removed too, then the Node deleted. The agent then idles until its process is stopped. Static
   * pods are the host's, not the cluster's: they keep running.
   */
  private void leave(NodeRelease.Mode mode) {
    heartbeat.close();
    pods.releaseAll();
    if (mode == NodeRelease.Mode.CLEANUP) {
      for (String image : runtime.imageIds()) {
        try {
          runtime.removeImage(image);
        } catch (RuntimeException e) {
          log.warn("node {} released: cannot remove image {}: {}", nodeName, image, e.getMessage());
        }
      }
    }
    client.nodes().withName(nodeName).delete();
    log.info("node {} released and deleted ({}): idle until stopped", nodeName, mode);
  }

  @Override
  public void close() {
    release.close();
    staticPods.ifPresent(StaticPodController::close);
    mirrors.ifPresent(MirrorPods::close);
    pods.close();
    inputs.close();
    heartbeat.close();
    client.close();
  }

  private static Map<String, Quantity> allocatable(Path stateDir) {
    try {
      HostFacts h = HostFacts.read(stateDir);
      return Map.of(
          "cpu", new Quantity(Integer.toString(h.cpus())),
          "memory", new Quantity(Long.toString(h.memoryBytes())),
          "ephemeral-storage", new Quantity(Long.toString(h.diskBytes())));
    } catch (IOException e) {
      return Map.of();
    }
  }
}
