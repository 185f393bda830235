package io.spawnlet.cri.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.spawnlet.cri.CriException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
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

  @Test
  void pinsStayInTheHostsPeerGroupOnlyOnASharedRunDirVolumeOrInAContainer() {
    Path run = Path.of("/host/run/spawnlet");
    MountTable chart =
        MountTable.parse(
            List.of(
                "1 0 8:1 / / rw - overlay overlay rw",
                "2 1 8:1 /host/run/spawnlet /host/run/spawnlet rw shared:4 - ext4 /dev/vda rw"));
    MountTable privateVolume =
        MountTable.parse(
            List.of(
                "1 0 8:1 / / rw - overlay overlay rw",
                "2 1 8:1 /host/run/spawnlet /host/run/spawnlet rw - ext4 /dev/vda rw"));
    MountTable systemdHost =
        MountTable.parse(
            List.of(
                "1 0 8:1 / / rw shared:1 - ext4 /dev/vda rw",
                "2 1 0:20 / /host/run rw shared:2 - tmpfs tmpfs rw"));

    assertThat(NamespacePinner.joinsPeerGroup(chart, run, false))
        .as("the chart's Bidirectional hostPath")
        .isTrue();
    assertThat(NamespacePinner.joinsPeerGroup(privateVolume, run, true))
        .as("a volume without propagation: nothing to join")
        .isFalse();
    assertThat(NamespacePinner.joinsPeerGroup(systemdHost, run, false))
        .as("a directory of the host's shared /run: a peer group of its own")
        .isFalse();
    assertThat(NamespacePinner.joinsPeerGroup(systemdHost, run, true))
        .as("in a container whose /run is the host's, shared")
        .isTrue();
  }
}
