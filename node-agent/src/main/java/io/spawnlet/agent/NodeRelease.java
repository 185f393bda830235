package io.spawnlet.agent;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches this agent's Node for the release request that {@code spawnlet nodes release} (the
 * chart's pre-delete Job at {@code helm uninstall}) puts on it: annotation {@value #ANNOTATION},
 * value {@code keep} (stop and remove the pods) or {@code cleanup} (also remove the images). The
 * request is handed once, on a thread of its own, to the agent's leave sequence.
 */
public final class NodeRelease implements AutoCloseable {
  /** The annotation {@code spawnlet nodes release} sets on the Nodes it asks to leave. */
  public static final String ANNOTATION = "spawnlet.io/release-requested";

  private static final Logger log = LoggerFactory.getLogger(NodeRelease.class);

  /** What the release asks of the agent besides leaving. */
  enum Mode {
    KEEP,
    CLEANUP;

    /** The mode an annotation value asks for; unknown values are taken as {@code keep}. */
    static Mode of(String value) {
      return "cleanup".equals(value) ? CLEANUP : KEEP;
    }
  }

  private final KubernetesClient client;
  private final String nodeName;
  private final Consumer<Mode> leave;
  private final AtomicBoolean requested = new AtomicBoolean();
  private SharedIndexInformer<Node> informer;

  NodeRelease(KubernetesClient client, String nodeName, Consumer<Mode> leave) {
    this.client = client;
    this.nodeName = nodeName;
    this.leave = leave;
  }

  /** The mode a Node's annotations ask for, if they request a release. */
  static Optional<Mode> requested(Node node) {
    Map<String, String> annotations = node.getMetadata().getAnnotations();
    return Optional.ofNullable(annotations == null ? null : annotations.get(ANNOTATION))
        .map(Mode::of);
  }

  void start() {
    informer = client.nodes().withField("metadata.name", nodeName).runnableInformer(0);
    informer.addEventHandler(
        new ResourceEventHandler<>() {
          @Override
          public void onAdd(Node node) {
            check(node);
          }

          @Override
          public void onUpdate(Node old, Node node) {
            check(node);
          }

          @Override
          public void onDelete(Node node, boolean finalStateUnknown) {}
        });
    informer.start();
  }

  private void check(Node node) {
    Optional<Mode> mode = requested(node);
    if (mode.isPresent() && requested.compareAndSet(false, true)) {
      log.info("node {}: release requested ({}): leaving the cluster", nodeName, mode.get());
      Thread.ofVirtual().name("node release").start(() -> leave(mode.get()));
    }
  }

  private void leave(Mode mode) {
    try {
      leave.accept(mode);
    } catch (RuntimeException e) {
      // The Job deletes the Node after its timeout: what is left is for the operator to see.
      log.error("node {}: leaving the cluster failed: {}", nodeName, e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    if (informer != null) {
      informer.stop();
    }
  }
}
