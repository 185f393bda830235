package io.spawnlet.agent.volume;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicVolumeWriterTest {
  @TempDir Path dir;

  private static VolumeFile text(String s, int mode) {
    return new VolumeFile(s.getBytes(StandardCharsets.UTF_8), mode);
  }

  @Test
  void writesAVersionBehindDataAndSwapsItOnChange() throws Exception {
    Path vol = dir.resolve("cfg");
    assertThat(
            AtomicVolumeWriter.write(vol, Map.of("a", text("1", 0644), "sub/b", text("2", 0600))))
        .isTrue();
    assertThat(Files.readString(vol.resolve("a"))).isEqualTo("1");
    assertThat(Files.readString(vol.resolve("sub/b"))).isEqualTo("2");
    assertThat(Files.isSymbolicLink(vol.resolve("a"))).isTrue();
    assertThat(Files.readSymbolicLink(vol.resolve("a")).toString()).isEqualTo("..data/a");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(vol.resolve("sub/b"))))
        .isEqualTo("rw-------");
    Path first = Files.readSymbolicLink(vol.resolve("..data"));

    // Same content: nothing is rewritten.
    assertThat(
            AtomicVolumeWriter.write(vol, Map.of("a", text("1", 0644), "sub/b", text("2", 0600))))
        .isFalse();
    assertThat(Files.readSymbolicLink(vol.resolve("..data"))).isEqualTo(first);

    // New content: a new version, the old one deleted, a key that went away loses its link.
    assertThat(AtomicVolumeWriter.write(vol, Map.of("a", text("3", 0644)))).isTrue();
    assertThat(Files.readString(vol.resolve("a"))).isEqualTo("3");
    assertThat(Files.readSymbolicLink(vol.resolve("..data"))).isNotEqualTo(first);
    assertThat(vol.resolve("sub")).doesNotExist();
    try (Stream<Path> entries = Files.list(vol)) {
      assertThat(entries.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("..2")))
          .hasSize(1);
    }
  }
}
