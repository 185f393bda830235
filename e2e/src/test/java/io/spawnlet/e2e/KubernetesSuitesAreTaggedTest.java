package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A suite that starts Kubernetes components but lacks {@link KubernetesSuite} would run before
 * scripts/test.sh has built them and fail for that reason alone: this keeps the split honest.
 */
class KubernetesSuitesAreTaggedTest {
  /** What only a Kubernetes suite touches: the control plane, or a fixture built on it. */
  private static final Pattern USES_KUBERNETES =
      Pattern.compile(
          "\\b(ControlPlane|KubeletNode|AgentNode)\\.start\\(|\\bControlPlane\\b\\s+\\w+\\s*[;=]");

  @Test
  void everySuiteThatStartsKubernetesIsTagged() throws IOException {
    Path sources = Path.of("src", "test", "java", "io", "spawnlet", "e2e");
    List<Path> untagged;
    try (Stream<Path> files = Files.list(sources)) {
      untagged =
          files
              .filter(f -> f.getFileName().toString().endsWith("IT.java"))
              .filter(f -> read(f).contains("@Test") || read(f).contains("@ParameterizedTest"))
              .filter(f -> USES_KUBERNETES.matcher(read(f)).find())
              .filter(f -> !read(f).contains("@KubernetesSuite"))
              .toList();
    }
    assertThat(untagged)
        .as("suites that start Kubernetes components must be annotated @KubernetesSuite")
        .isEmpty();
  }

  private static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new AssertionError("cannot read " + file, e);
    }
  }
}
