package io.spawnlet.cri.activation;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdleProbeTest {
  private static final String HEADER =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout"
          + " inode\n";
  @TempDir Path dir;

  private Path table(String... lines) throws IOException {
    Path f = dir.resolve("tcp");
    Files.writeString(f, HEADER + String.join("\n", lines) + "\n");
    return f;
  }

  @Test
  void anIdleListenerIsIdle() throws IOException {
    // 0.0.0.0:8080 (0x1F90) listening, empty accept queue; another port's connection.
    Path t =
        table(
            "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1",
            "   1: 0100007F:0016 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 2",
            "   2: 0A000002:1F90 0A000001:D431 06 00000000:00000000 00:00000000 00000000     0        0 0");
    assertThat(IdleProbe.busy(t, Set.of(8080), true)).isFalse();
  }

  @Test
  void aQueuedConnectionOrAnOpenOneIsBusy() throws IOException {
    Path queued =
        table(
            "   0: 00000000:1F90 00000000:0000 0A 00000000:00000002 00:00000000 00000000     0        0 1");
    assertThat(IdleProbe.busy(queued, Set.of(8080), true)).isTrue();
    Path open =
        table(
            "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1",
            "   1: 0A000002:1F90 0A000001:D431 01 00000000:00000000 00:00000000 00000000     0        0 2");
    assertThat(IdleProbe.busy(open, Set.of(8080), true)).isTrue();
  }

  @Test
  void aWaitingDatagramIsBusy() throws IOException {
    Path udp =
        table(
            "   0: 00000000:14E9 00000000:0000 07 00000000:00000200 00:00000000 00000000     0        0 1");
    assertThat(IdleProbe.busy(udp, Set.of(5353), false)).isTrue();
    assertThat(IdleProbe.busy(udp, Set.of(53), false)).isFalse();
  }

  @Test
  void aMissingTableIsIdle() {
    assertThat(IdleProbe.busy(dir.resolve("tcp6"), Set.of(8080), true)).isFalse();
  }
}
