package io.spawnlet.cri.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real sd_notify client (systemd-notify) talks to the daemon's notify socket. */
class NotifySocketIT {
  @TempDir Path tmp;

  @Test
  void receivesWhatSystemdNotifySends() throws Exception {
    try (NotifySocket socket = NotifySocket.bind(tmp.resolve("n/notify"))) {
      assertThat(socket.drain()).isEmpty();
      assertThat(socket.await(1)).isFalse();
      ProcessBuilder pb =
          new ProcessBuilder("systemd-notify", "--no-block", "--ready", "--status=booted")
              .inheritIO();
      pb.environment().put("NOTIFY_SOCKET", socket.path().toString());
      Process p = pb.start();
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).isZero();
      assertThat(socket.await(10_000)).isTrue();
      List<String> lines = new ArrayList<>();
      socket.drain().forEach(m -> lines.addAll(List.of(m.split("\n"))));
      assertThat(lines).contains("READY=1", "STATUS=booted");
      assertThat(socket.drain()).isEmpty();
    }
    assertThat(tmp.resolve("n/notify")).doesNotExist();
  }

  @Test
  void refusesPathsLongerThanSunPath() {
    Path longPath = tmp.resolve("x".repeat(120));
    assertThatThrownBy(() -> NotifySocket.bind(longPath))
        .hasMessageContaining("107 bytes")
        .hasMessageContaining("shorter state root");
  }
}
