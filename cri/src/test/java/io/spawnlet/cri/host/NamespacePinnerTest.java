package io.spawnlet.cri.host;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.spawnlet.cri.CriException;
import java.nio.file.Path;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Argument checks that happen before any system call (no root needed). */
class NamespacePinnerTest {
  @TempDir Path runDir;

  @Test
  void sandboxIdsThatCouldEscapeTheRunDirectoryAreRejected() {
    NamespacePinner pinner = new NamespacePinner(runDir);
    for (String id : new String[] {"..", ".", "../etc", "a/b", "", "/abs", "x\0y"}) {
      assertThatThrownBy(() -> pinner.pin(id, "h", EnumSet.allOf(NamespaceKind.class)))
          .as(id)
          .isInstanceOfSatisfying(
              CriException.class,
              e -> {
                org.assertj.core.api.Assertions.assertThat(e.kind())
                    .isEqualTo(CriException.Kind.INVALID_ARGUMENT);
                org.assertj.core.api.Assertions.assertThat(e)
                    .hasMessageContaining("pod_sandbox_id");
              });
      assertThatThrownBy(() -> pinner.unpin(id)).isInstanceOf(CriException.class);
      assertThatThrownBy(() -> pinner.find(id)).isInstanceOf(CriException.class);
    }
  }

  @Test
  void badHostnamesAreRejected() {
    NamespacePinner pinner = new NamespacePinner(runDir);
    for (String hostname : new String[] {"-a", "a_b", "a..b", "x".repeat(65), "a b"}) {
      assertThatThrownBy(() -> pinner.pin("abc", hostname, EnumSet.of(NamespaceKind.UTS)))
          .as(hostname)
          .isInstanceOfSatisfying(
              CriException.class,
              e -> org.assertj.core.api.Assertions.assertThat(e).hasMessageContaining("hostname"));
    }
  }
}
