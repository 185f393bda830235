package io.spawnlet.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import java.util.Map;
import org.junit.jupiter.api.Test;

class NodeReleaseTest {
  @Test
  void aNodeWithoutTheAnnotationIsNotReleased() {
    assertThat(NodeRelease.requested(node(null))).isEmpty();
    assertThat(NodeRelease.requested(node(Map.of("other", "x")))).isEmpty();
  }

  @Test
  void theAnnotationValueSaysWhetherToCleanUp() {
    assertThat(NodeRelease.requested(node(Map.of(NodeRelease.ANNOTATION, "cleanup"))))
        .contains(NodeRelease.Mode.CLEANUP);
    assertThat(NodeRelease.requested(node(Map.of(NodeRelease.ANNOTATION, "keep"))))
        .contains(NodeRelease.Mode.KEEP);
    // Anything else is the safe choice: leave, but keep the host's images and state.
    assertThat(NodeRelease.requested(node(Map.of(NodeRelease.ANNOTATION, "yes"))))
        .contains(NodeRelease.Mode.KEEP);
  }

  private static Node node(Map<String, String> annotations) {
    Node node = new NodeBuilder().withNewMetadata().withName("n").endMetadata().build();
    node.getMetadata().setAnnotations(annotations);
    return node;
  }
}
