package io.spawnlet.cli;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.spawnlet.agent.NodeAgent;
import io.spawnlet.agent.NodeRelease;
import io.spawnlet.cri.activation.ActivationSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code spawnlet nodes release}: the chart's pre-delete hook. Marks every Node of the selector
 * with {@value #RELEASE_ANNOTATION} (value {@code cleanup} or {@code keep}) so its agent can stop
 * its pods first, waits up to the timeout for the Nodes to go, then deletes those still there. A
 * deleted Node is not registered again by a running agent (its heartbeat only reports).
 */
@Command(
    name = "release",
    mixinStandardHelpOptions = true,
    description = {
      "Ask the agents of the selected nodes to leave, then delete the nodes still there.",
      "Run by the chart's pre-delete Job on 'helm uninstall'."
    })
final class NodesReleaseCommand implements Callable<Integer> {
  static final String RELEASE_ANNOTATION = NodeRelease.ANNOTATION;
  private static final Duration POLL = Duration.ofSeconds(2);

  @Option(
      names = "--selector",
      required = true,
      description = "Label selector of the nodes, e.g. spawnlet.io/release=ns.name.")
  String selector;

  @Option(
      names = "--cleanup",
      arity = "1",
      defaultValue = "false",
      description = "Ask the agents to also remove their pods and state (default: false).")
  boolean cleanup;

  @Option(
      names = "--timeout",
      defaultValue = "120s",
      description = "How long to wait for the agents before deleting the nodes (default: 120s).")
  String timeout;

  @Option(
      names = "--kubeconfig",
      description = "Kubeconfig (default: in-cluster service account, then $KUBECONFIG).")
  Path kubeconfig;

  @Override
  public Integer call() throws InterruptedException {
    Duration wait = ActivationSpec.parseDuration("--timeout", timeout);
    try (KubernetesClient client = NodeAgent.client(Optional.ofNullable(kubeconfig))) {
      List<Node> nodes = client.nodes().withLabelSelector(selector).list().getItems();
      for (Node node : nodes) {
        client
            .nodes()
            .withName(node.getMetadata().getName())
            .edit(
                n -> {
                  if (n.getMetadata().getAnnotations() == null) {
                    n.getMetadata().setAnnotations(new java.util.HashMap<>());
                  }
                  n.getMetadata()
                      .getAnnotations()
                      .put(RELEASE_ANNOTATION, cleanup ? "cleanup" : "keep");
                  return n;
                });
        System.out.println("release requested: node " + node.getMetadata().getName());
      }
      Instant deadline = Instant.now().plus(wait);
      List<Node> left = nodes;
      while (!left.isEmpty() && Instant.now().isBefore(deadline)) {
        Thread.sleep(POLL);
        left = client.nodes().withLabelSelector(selector).list().getItems();
      }
      for (Node node : left) {
        client.nodes().withName(node.getMetadata().getName()).delete();
        System.out.println("deleted node " + node.getMetadata().getName());
      }
      System.out.println(nodes.size() + " node(s) released");
    }
    return 0;
  }
}
