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
  private final ApiPodController pods;
  private final Optional<StaticPodController> staticPods;

  public NodeAgent(
      KubernetesClient client, AgentSettings settings, NodeSettings node, PodRuntime runtime) {
    this.client = client;
    NodeStatusReporter status =
        new NodeStatusReporter(
            client, node, settings.stateDir(), runtime::runtimeProblems, runtime::runtimeVersion);
    this.heartbeat =
        new NodeHeartbeat(status, new NodeLease(client, node.nodeName(), LEASE_DURATION), node);
    ApiPodInputs inputs =
        new ApiPodInputs(
            client, node.nodeName(), node.hostIps(), () -> allocatable(settings.stateDir()));
    this.pods = new ApiPodController(client, settings, runtime, inputs);
    this.staticPods = settings.manifests().map(m -> new StaticPodController(settings, runtime));
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
   * The host's IPv4 addresses on interfaces that are up, loopback last (for a loopback-only host).
   */
  public static List<String> hostIps() {
    List<String> ips = new ArrayList<>();
    List<String> loopback = new ArrayList<>();
    try {
      for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        if (!nic.isUp()
            || nic.getName().startsWith("spawnlet")
            || nic.getName().startsWith("veth")) {
          continue;
        }
        for (InetAddress a : Collections.list(nic.getInetAddresses())) {
          if (a instanceof Inet4Address) {
            (a.isLoopbackAddress() ? loopback : ips).add(a.getHostAddress());
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

  public void start() throws IOException {
    heartbeat.start();
    pods.start();
    if (staticPods.isPresent()) {
      staticPods.get().start();
    }
  }

  @Override
  public void close() {
    staticPods.ifPresent(StaticPodController::close);
    pods.close();
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
