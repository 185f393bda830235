package io.spawnlet.cri.container;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.spawnlet.cri.CriException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BootReadinessTest {
  @TempDir Path tmp;

  @Test
  void bootTimeoutFromPodAnnotation() {
    assertThat(BootReadiness.timeout(Map.of())).isEqualTo(BootReadiness.DEFAULT_TIMEOUT);
    assertThat(BootReadiness.timeout(Map.of(BootReadiness.TIMEOUT_ANNOTATION, "90")))
        .isEqualTo(Duration.ofSeconds(90));
    assertThat(BootReadiness.timeout(Map.of(BootReadiness.TIMEOUT_ANNOTATION, "2m")))
        .isEqualTo(Duration.ofMinutes(2));
    assertThat(BootReadiness.timeout(Map.of(BootReadiness.TIMEOUT_ANNOTATION, "1500ms")))
        .isEqualTo(Duration.ofMillis(1500));
    assertThatThrownBy(
            () -> BootReadiness.timeout(Map.of(BootReadiness.TIMEOUT_ANNOTATION, "soon")))
        .isInstanceOf(CriException.class)
        .hasMessageContaining("spawnlet.io/boot-timeout")
        .hasMessageContaining("90s");
  }

  @Test
  void bootLogTailDropsTheCriPrefix() throws Exception {
    Path log = tmp.resolve("0.log");
    StringBuilder b = new StringBuilder();
    for (int i = 1; i <= 20; i++) {
      b.append("2026-01-01T00:00:00.000000000+00:00 stdout F line ").append(i).append('\n');
    }
    Files.writeString(log, b);
    assertThat(BootReadiness.bootLogTail(log, 3)).containsExactly("line 18", "line 19", "line 20");
    assertThat(BootReadiness.bootLogTail(tmp.resolve("missing.log"), 3))
        .singleElement()
        .asString()
        .contains("unreadable");
  }
}
