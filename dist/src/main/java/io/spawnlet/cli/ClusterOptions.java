package io.spawnlet.cli;

import io.fabric8.kubernetes.api.model.Taint;
import io.spawnlet.agent.NodeAgent;
import io.spawnlet.agent.node.NodeSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** How {@code spawnlet agent} and {@code spawnlet node} join a cluster. */
final class ClusterOptions {
  @Option(
      names = "--kubeconfig",
      description =
          "Kubeconfig of the node's identity (default: in-cluster service account,"
              + " then $KUBECONFIG or ~/.kube/config).")
  Path kubeconfig;

  @Option(
      names = "--node-ip",
      description = "The node's InternalIP, the pods' hostIP (default: the host's first IPv4).")
  String nodeIp;

  @Option(
      names = "--node-labels",
      split = ",",
      description = "Extra node labels key=value (comma-separated or repeated).")
  Map<String, String> nodeLabels = new LinkedHashMap<>();

  @Option(
      names = "--register-with-taints",
      split = ",",
      description =
          "Taints key=value:Effect set at registration (default"
              + " spawnlet.io/system-containers=true:NoSchedule; \"none\" for no taint).")
  List<String> taints;

  @Option(
      names = "--max-pods",
      defaultValue = "110",
      description = "The node's pod capacity (default: ${DEFAULT-VALUE}).")
  int maxPods;

  @Option(
      names = "--kubelet-port",
      defaultValue = "10250",
      description =
          "The port the Node advertises for its kubelet API (default: ${DEFAULT-VALUE}; another"
              + " one beside a host kubelet, which holds 10250).")
  int kubeletPort;

  @Option(names = "--manifests", description = "Also run the static pods of this directory.")
  Path manifests;

  NodeSettings node(String nodeName, CommandLine cmd) {
    return new NodeSettings(
        nodeName,
        nodeLabels,
        taints(cmd),
        nodeIp == null ? NodeAgent.hostIps() : List.of(nodeIp),
        kubeletPort,
        maxPods,
        Duration.ofSeconds(10),
        Duration.ofMinutes(1),
        VersionCommand.version());
  }

  private List<Taint> taints(CommandLine cmd) {
    if (taints == null) {
      return List.of(NodeSettings.SYSTEM_CONTAINERS_TAINT);
    }
    List<Taint> out = new ArrayList<>();
    for (String t : taints) {
      if (t.equals("none") || t.isEmpty()) {
        continue;
      }
      int colon = t.lastIndexOf(':');
      int eq = t.indexOf('=');
      if (colon < 0) {
        throw new CommandLine.ParameterException(
            cmd, "--register-with-taints " + t + ": expected key[=value]:Effect");
      }
      String kv = t.substring(0, colon);
      out.add(
          new Taint(
              t.substring(colon + 1),
              eq < 0 || eq > colon ? kv : kv.substring(0, eq),
              null,
              eq < 0 || eq > colon ? null : kv.substring(eq + 1)));
    }
    return out;
  }
}
