package io.spawnlet.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class TargetTest {

  @Test
  void parsesLabelAndSocket() {
    assertThat(Target.parse("containerd=/tmp/b/containerd.sock"))
        .isEqualTo(new Target("containerd", Path.of("/tmp/b/containerd.sock")));
  }

  @Test
  void rejectsMissingPartsAndOddLabels() {
    assertThatThrownBy(() -> Target.parse("/tmp/x.sock")).hasMessageContaining("LABEL=SOCKET");
    assertThatThrownBy(() -> Target.parse("spawnlet=")).hasMessageContaining("LABEL=SOCKET");
    assertThatThrownBy(() -> Target.parse("../x=/tmp/x.sock")).hasMessageContaining("label");
  }

  @Test
  void runtimesTakeTurnsGoingFirst() {
    List<String> runtimes = List.of("containerd", "spawnlet");

    assertThat(CriLatencyBench.turnOrder(runtimes, 0)).containsExactly("containerd", "spawnlet");
    assertThat(CriLatencyBench.turnOrder(runtimes, 1)).containsExactly("spawnlet", "containerd");
    assertThat(CriLatencyBench.turnOrder(List.of("one"), 1)).containsExactly("one");
  }
}
