package io.spawnlet.cri.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ProcessRunnerTest {
  private final ProcessRunner runner = new ProcessRunner(new ProcessSpawner());

  @Test
  void collectsExitCodeStdoutAndStderrApart() {
    ProcessRunner.Outcome outcome =
        runner.run(
            List.of("/bin/sh", "-c", "echo out; echo err >&2; echo $MARK; exit 7"),
            Map.of("MARK", "env-ok"),
            Duration.ofSeconds(30));
    assertThat(outcome.exitCode()).isEqualTo(7);
    assertThat(new String(outcome.stdout(), StandardCharsets.UTF_8)).isEqualTo("out\nenv-ok\n");
    assertThat(new String(outcome.stderr(), StandardCharsets.UTF_8)).isEqualTo("err\n");
    assertThat(outcome.timedOut()).isFalse();
  }

  @Test
  void outputLargerThanAPipeBufferOnBothStreamsDoesNotDeadlock() {
    // 256 KiB on each stream, interleaved: a reader draining one stream only would block the child.
    ProcessRunner.Outcome outcome =
        runner.run(
            List.of(
                "/bin/sh",
                "-c",
                "i=0; while [ $i -lt 64 ]; do head -c 4096 /dev/zero; head -c 4096 /dev/zero >&2;"
                    + " i=$((i+1)); done"),
            Map.of(),
            Duration.ofSeconds(60));
    assertThat(outcome.exitCode()).isZero();
    assertThat(outcome.stdout()).hasSize(64 * 4096);
    assertThat(outcome.stderr()).hasSize(64 * 4096);
  }

  @Test
  void aProgramOutlivingItsTimeoutIsKilled() {
    ProcessRunner.Outcome outcome =
        runner.run(List.of("/bin/sleep", "60"), Map.of(), Duration.ofMillis(200));
    assertThat(outcome.timedOut()).isTrue();
    assertThat(outcome.exitCode()).isEqualTo(128 + 9);
  }

  @Test
  void runsFromAVirtualThread() throws Exception {
    AtomicReference<ProcessRunner.Outcome> result = new AtomicReference<>();
    Thread.ofVirtual()
        .start(
            () ->
                result.set(
                    runner.run(List.of("/bin/echo", "virtual"), Map.of(), Duration.ofSeconds(30))))
        .join();
    assertThat(new String(result.get().stdout(), StandardCharsets.UTF_8)).isEqualTo("virtual\n");
  }

  @Test
  void aMissingProgramIsAnErrorNamingIt() {
    assertThatThrownBy(
            () -> runner.run(List.of("/nonexistent/runtime"), Map.of(), Duration.ofSeconds(5)))
        .isInstanceOf(SyscallException.class)
        .hasMessageContaining("/nonexistent/runtime");
  }
}
