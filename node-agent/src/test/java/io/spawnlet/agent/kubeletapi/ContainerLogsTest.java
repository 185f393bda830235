package io.spawnlet.agent.kubeletapi;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ContainerLogsTest {
  private static final String LOG =
      """
      2026-01-01T10:00:00.000000001Z stdout F first
      2026-01-01T10:00:01.000000001Z stderr P sec
      2026-01-01T10:00:01.000000002Z stderr F ond
      2026-01-01T10:00:02.000000001Z stdout F third
      """;

  @TempDir Path dir;

  private String read(ContainerLogs.Options options) throws Exception {
    Path log = dir.resolve("0.log");
    Files.writeString(log, LOG);
    StringBuilder out = new StringBuilder();
    ContainerLogs.copy(log, options, () -> false, out::append);
    return out.toString();
  }

  private static ContainerLogs.Options options(
      boolean timestamps, OptionalLong tail, Optional<Instant> since, OptionalLong limit) {
    return new ContainerLogs.Options(timestamps, tail, since, limit, false);
  }

  @Test
  void partialLinesJoinAndEveryStreamShows() throws Exception {
    assertThat(read(options(false, OptionalLong.empty(), Optional.empty(), OptionalLong.empty())))
        .isEqualTo("first\nsecond\nthird\n");
  }

  @Test
  void tailSinceTimestampsAndLimit() throws Exception {
    assertThat(read(options(false, OptionalLong.of(1), Optional.empty(), OptionalLong.empty())))
        .isEqualTo("third\n");
    assertThat(
            read(
                options(
                    false,
                    OptionalLong.empty(),
                    Optional.of(Instant.parse("2026-01-01T10:00:01Z")),
                    OptionalLong.empty())))
        .isEqualTo("second\nthird\n");
    assertThat(read(options(true, OptionalLong.of(1), Optional.empty(), OptionalLong.empty())))
        .isEqualTo("2026-01-01T10:00:02.000000001Z third\n");
    assertThat(read(options(false, OptionalLong.empty(), Optional.empty(), OptionalLong.of(8))))
        .isEqualTo("first\nse");
  }

  @Test
  void aMissingLogIsEmpty() {
    StringBuilder out = new StringBuilder();
    ContainerLogs.copy(
        dir.resolve("none.log"),
        options(false, OptionalLong.empty(), Optional.empty(), OptionalLong.empty()),
        () -> false,
        out::append);
    assertThat(out).isEmpty();
  }
}
