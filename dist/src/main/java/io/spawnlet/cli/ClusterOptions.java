package io.spawnlet.cli;

import io.fabric8.kubernetes.api.model.Taint;
import io.spawnlet.agent.NodeAgent;
import io.spawnlet.agent.kubeletapi.KubeletApiSettings;
import io.spawnlet.agent.node.NodeSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
          "HTTPS port of the kubelet API (exec, attach, port-forward, logs through the apiserver),"
              + " published as the node's kubeletEndpoint (default: ${DEFAULT-VALUE}).")
  int kubeletPort;

  @Option(
      names = "--kubelet-address",
      defaultValue = "0.0.0.0",
      description = "Address the kubelet API listens on (default: ${DEFAULT-VALUE}).")
  String kubeletAddress;

  @Option(
      names = "--client-ca-file",
      description =
          "CA of the clients let into the kubelet API (the apiserver's kubelet client certificate);"
              + " without it the kubelet API does not start.")
  Path clientCaFile;

  @Option(
      names = "--tls-cert-file",
      description = "Serving certificate of the kubelet API (PEM; default: self-signed).")
  Path tlsCertFile;

  @Option(names = "--tls-private-key-file", description = "Its private key (PEM, PKCS#8).")
  Path tlsPrivateKeyFile;

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

  /** The kubelet API's settings; empty without a client CA (nobody could be let in). */
  Optional<KubeletApiSettings> kubeletApi(String nodeName) {
    return Optional.ofNullable(clientCaFile)
        .map(
            ca ->
                new KubeletApiSettings(
                    kubeletAddress,
                    kubeletPort,
                    ca,
                    Optional.ofNullable(tlsCertFile),
                    Optional.ofNullable(tlsPrivateKeyFile),
                    nodeName));
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
