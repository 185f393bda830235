package io.spawnlet.cri.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcessSpawnerTest {
  @TempDir Path tmp;

  @Test
  void passedDescriptorsArriveAsThreeAndFourAndNothingElseLeaks() throws Exception {
    int[] first = Syscalls.pipe();
    int[] second = Syscalls.pipe();
    Path out = tmp.resolve("out");
    int pid =
        new ProcessSpawner()
            .spawn(
                ProcessSpawner.Request.of(
                        List.of(
                            "/bin/sh",
                            "-c",
                            "echo one >&3; echo two >&4; ls /proc/self/fd; echo $MARK"),
                        Map.of("MARK", "env-ok"))
                    .withOutput(out, out)
                    .withPassedFds(List.of(second[1], first[1])));
    Syscalls.close(first[1]);
    Syscalls.close(second[1]);
    assertThat(Syscalls.exitCode(Syscalls.waitpid(pid))).isZero();
    assertThat(readAll(second[0])).isEqualTo("one\n");
    assertThat(readAll(first[0])).isEqualTo("two\n");
    // 0-4, plus the one ls opens to read the directory: no JVM descriptor got through.
    List<String> lines = Files.readAllLines(out);
    assertThat(lines.subList(0, lines.size() - 1)).containsExactly("0", "1", "2", "3", "4", "5");
    assertThat(lines.getLast()).isEqualTo("env-ok");
    Syscalls.close(first[0]);
    Syscalls.close(second[0]);
  }

  @Test
  void exitCodeOfTheChild() {
    int pid =
        new ProcessSpawner()
            .spawn(ProcessSpawner.Request.of(List.of("/bin/sh", "-c", "exit 3"), Map.of()));
    assertThat(Syscalls.exitCode(Syscalls.waitpid(pid))).isEqualTo(3);
  }

  private static String readAll(int fd) {
    StringBuilder sb = new StringBuilder();
    byte[] buf = new byte[256];
    for (int n; (n = Syscalls.read(fd, buf)) > 0; ) {
      sb.append(new String(buf, 0, n, StandardCharsets.UTF_8));
    }
    return sb.toString();
  }
}
