package io.spawnlet.cri.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.spawnlet.cri.CriException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StorageDriverTest {
  @TempDir Path tmp;

  @Test
  void overlayIsTheDefault() {
    assertThat(StorageDriver.parse(Optional.empty())).isEqualTo(StorageDriver.OVERLAY);
    assertThat(StorageDriver.parse(Optional.of(" "))).isEqualTo(StorageDriver.OVERLAY);
    assertThat(StorageDriver.parse(Optional.of("overlay"))).isEqualTo(StorageDriver.OVERLAY);
    assertThat(StorageDriver.parse(Optional.of("BTRFS"))).isEqualTo(StorageDriver.BTRFS);
  }

  @Test
  void unknownDriverIsRefusedNamingTheKeyAndTheChoices() {
    assertThatThrownBy(() -> StorageDriver.parse(Optional.of("zfs")))
        .isInstanceOf(CriException.class)
        .hasMessageContaining("storageDriver")
        .hasMessageContaining("\"zfs\" is not a storage driver")
        .hasMessageContaining("overlay (the default) or btrfs");
  }

  @Test
  void btrfsIsRefusedOffBtrfsNamingTheDirectoryAndItsFileSystem() {
    assertThatThrownBy(() -> StorageDriver.BTRFS.open(tmp))
        .isInstanceOf(CriException.class)
        .extracting(e -> ((CriException) e).kind())
        .isEqualTo(CriException.Kind.FAILED_PRECONDITION);
    assertThatThrownBy(() -> StorageDriver.BTRFS.open(tmp))
        .hasMessageContaining("storageDriver btrfs needs the storage directory " + tmp)
        .hasMessageContaining("set storageDriver: overlay");
    assertThat(StorageDriver.OVERLAY.open(tmp)).isInstanceOf(ContainerRootfs.class);
  }

  @Test
  void chainIdsFollowTheOciDefinition() {
    String a = "sha256:" + "a".repeat(64);
    String b = "sha256:" + "b".repeat(64);
    List<String> ids = LayerChains.chainIds(List.of(a, b));
    assertThat(ids.get(0)).isEqualTo("a".repeat(64));
    // sha256("sha256:aaa… sha256:bbb…")
    assertThat(ids.get(1))
        .isEqualTo(
            Digest.of((a + " " + b).getBytes(java.nio.charset.StandardCharsets.US_ASCII)).hex());
  }
}
