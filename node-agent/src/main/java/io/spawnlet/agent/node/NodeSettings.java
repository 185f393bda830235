package io.spawnlet.agent.node;

import io.fabric8.kubernetes.api.model.Taint;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * How the agent presents its node to the cluster.
 *
 * @param labels added to the built-in ones (kubernetes.io/os, kubernetes.io/hostname,
 *     spawnlet.io/node)
 * @param taints set when the node is registered (the kubelet's --register-with-taints)
 * @param hostIps the node's InternalIPs, the first is the pods' hostIP
 * @param kubeletPort the daemonEndpoints port (10250)
 * @param maxPods the "pods" capacity
 * @param heartbeat how often the Lease is renewed and conditions are checked (10 s)
 * @param statusReport how often the status is written when nothing changed (1 min)
 */
public record NodeSettings(
    String nodeName,
    Map<String, String> labels,
    List<Taint> taints,
    List<String> hostIps,
    int kubeletPort,
    int maxPods,
    Duration heartbeat,
    Duration statusReport,
    String agentVersion) {

  public static final Taint SYSTEM_CONTAINERS_TAINT =
      new Taint("NoSchedule", "spawnlet.io/system-containers", null, "true");

  public NodeSettings {
    labels = Map.copyOf(labels);
    taints = List.copyOf(taints);
    hostIps = List.copyOf(hostIps);
  }
}
