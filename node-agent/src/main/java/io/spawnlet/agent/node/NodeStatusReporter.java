package io.spawnlet.agent.node;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeAddress;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.api.model.NodeStatus;
import io.fabric8.kubernetes.api.model.NodeStatusBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registers the Node (labels, taints) and keeps its status true: capacity and allocatable from the
 * host, addresses, nodeInfo, daemonEndpoints, and the Ready/MemoryPressure/DiskPressure/PIDPressure
 * conditions. The status is written when a condition or figure changes, and at least every {@code
 * statusReport} (the heartbeat proper is the Lease, see {@link NodeLease}).
 */
public final class NodeStatusReporter {
  private static final Logger log = LoggerFactory.getLogger(NodeStatusReporter.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final KubernetesClient client;
  private final NodeSettings settings;
  private final Path stateDir;
  private final Supplier<List<String>> runtimeProblems;
  private final Supplier<String> runtimeVersion;
  private Map<String, NodeCondition> lastConditions = new HashMap<>();
  private String lastFingerprint = "";
  private Instant lastWrite = Instant.MIN;

  public NodeStatusReporter(
      KubernetesClient client,
      NodeSettings settings,
      Path stateDir,
      Supplier<List<String>> runtimeProblems,
      Supplier<String> runtimeVersion) {
    this.client = client;
    this.settings = settings;
    this.stateDir = stateDir;
    this.runtimeProblems = runtimeProblems;
    this.runtimeVersion = runtimeVersion;
  }

  /** Creates the Node, or adds our labels to an existing one (taints only at creation). */
  public Node register() {
    HostFacts host = host();
    Node existing = client.nodes().withName(settings.nodeName()).get();
    if (existing == null) {
      Node node =
          new NodeBuilder()
              .withNewMetadata()
              .withName(settings.nodeName())
              .withLabels(labels())
              .endMetadata()
              .withNewSpec()
              .withTaints(settings.taints())
              .endSpec()
              .build();
      try {
        existing = client.nodes().resource(node).create();
        log.info("node {} registered", settings.nodeName());
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          throw e;
        }
        existing = client.nodes().withName(settings.nodeName()).get();
      }
    } else {
      Map<String, String> labels = new LinkedHashMap<>();
      if (existing.getMetadata().getLabels() != null) {
        labels.putAll(existing.getMetadata().getLabels());
      }
      if (!labels.entrySet().containsAll(labels().entrySet())) {
        patch(Map.of("metadata", Map.of("labels", labels())), false);
      }
      log.info("node {} was registered before: updating it", settings.nodeName());
    }
    report(host, true);
    return existing;
  }

  /** One heartbeat: the status is written if it changed or is due. */
  public void heartbeat() {
    report(host(), false);
  }

  private void report(HostFacts host, boolean force) {
    Instant now = Instant.now();
    List<NodeCondition> conditions =
        NodeConditions.of(host, runtimeProblems.get(), lastConditions, now);
    NodeStatus status = status(host, conditions);
    String fingerprint = fingerprint(status);
    if (!force
        && fingerprint.equals(lastFingerprint)
        && now.isBefore(lastWrite.plus(settings.statusReport()))) {
      return;
    }
    patch(Map.of("status", status), true);
    Map<String, NodeCondition> byType = new HashMap<>();
    conditions.forEach(c -> byType.put(c.getType(), c));
    if (!lastConditions.isEmpty()) {
      for (NodeCondition c : conditions) {
        NodeCondition before = lastConditions.get(c.getType());
        if (before != null && !before.getStatus().equals(c.getStatus())) {
          log.info("node condition {} is now {}: {}", c.getType(), c.getStatus(), c.getMessage());
        }
      }
    }
    lastConditions = byType;
    lastFingerprint = fingerprint;
    lastWrite = now;
  }

  NodeStatus status(HostFacts host, List<NodeCondition> conditions) {
    Map<String, Quantity> capacity = new LinkedHashMap<>();
    capacity.put("cpu", new Quantity(Integer.toString(host.cpus())));
    capacity.put("memory", new Quantity(host.memoryBytes() / 1024 + "Ki"));
    capacity.put("ephemeral-storage", new Quantity(host.diskBytes() / 1024 + "Ki"));
    capacity.put("pods", new Quantity(Integer.toString(settings.maxPods())));
    // allocatable: the kubelet's default reservations are none, except the 100Mi eviction threshold
    Map<String, Quantity> allocatable = new LinkedHashMap<>(capacity);
    allocatable.put(
        "memory",
        new Quantity(
            Math.max(0, host.memoryBytes() - NodeConditions.MEMORY_THRESHOLD) / 1024 + "Ki"));
    allocatable.put("ephemeral-storage", new Quantity(host.diskBytes() / 10 * 9 / 1024 + "Ki"));
    List<NodeAddress> addresses = new ArrayList<>();
    settings.hostIps().forEach(ip -> addresses.add(new NodeAddress(ip, "InternalIP")));
    addresses.add(new NodeAddress(settings.nodeName(), "Hostname"));
    return new NodeStatusBuilder()
        .withCapacity(capacity)
        .withAllocatable(allocatable)
        .withAddresses(addresses)
        .withConditions(conditions)
        .withNewDaemonEndpoints()
        .withNewKubeletEndpoint(settings.kubeletPort())
        .endDaemonEndpoints()
        .withNewNodeInfo()
        .withArchitecture("amd64")
        .withOperatingSystem("linux")
        .withOsImage(host.osImage())
        .withKernelVersion(host.kernelVersion())
        .withBootID(host.bootId())
        .withMachineID(host.machineId())
        .withSystemUUID(host.machineId())
        .withContainerRuntimeVersion("spawnlet://" + runtimeVersionOnly())
        .withKubeletVersion("v1.34.0-spawnlet." + settings.agentVersion())
        .withKubeProxyVersion("")
        .endNodeInfo()
        .build();
  }

  /** "spawnlet 0.1.0" from the runtime → "0.1.0"; the agent's own version if it does not answer. */
  private String runtimeVersionOnly() {
    try {
      String v = runtimeVersion.get();
      int space = v.lastIndexOf(' ');
      return space < 0 ? v : v.substring(space + 1);
    } catch (RuntimeException e) {
      return settings.agentVersion();
    }
  }

  private Map<String, String> labels() {
    Map<String, String> labels = new LinkedHashMap<>();
    labels.put("kubernetes.io/os", "linux");
    labels.put("kubernetes.io/arch", "amd64");
    labels.put("beta.kubernetes.io/os", "linux");
    labels.put("beta.kubernetes.io/arch", "amd64");
    labels.put("kubernetes.io/hostname", settings.nodeName());
    labels.put("spawnlet.io/node", "true");
    labels.putAll(settings.labels());
    return labels;
  }

  private void patch(Map<String, ?> body, boolean status) {
    String json;
    try {
      json = JSON.writeValueAsString(body);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    var node = client.nodes().withName(settings.nodeName());
    // A merge patch: the node owns every list it writes (conditions, addresses), so replacing them
    // whole is right, and it needs no schema on the server side.
    PatchContext merge = PatchContext.of(PatchType.JSON_MERGE);
    if (status) {
      node.subresource("status").patch(merge, json);
    } else {
      node.patch(merge, json);
    }
  }

  /** The status without timestamps, to tell a real change from a heartbeat. */
  private static String fingerprint(NodeStatus status) {
    StringBuilder b = new StringBuilder();
    status
        .getConditions()
        .forEach(c -> b.append(c.getType()).append(c.getStatus()).append(c.getReason()));
    b.append(status.getAllocatable()).append(status.getAddresses());
    return b.toString();
  }

  private HostFacts host() {
    try {
      return HostFacts.read(stateDir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the host's facts: " + e.getMessage(), e);
    }
  }
}
