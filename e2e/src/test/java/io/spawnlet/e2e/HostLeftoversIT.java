package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The leftover checks of the e2e suites see real leftovers: a mount (with a space in its path, as
 * mountinfo escapes it), a process working in the tree, a netns bind mount named after an id.
 */
class HostLeftoversIT {
  @TempDir Path dir;

  @Test
  void findsAMountUnderTheTreeUntilItIsGone() throws Exception {
    Path mountPoint = Files.createDirectories(dir.resolve("a dir/rootfs"));
    run("mount", "-t", "tmpfs", "-o", "size=1m", "e2e-leftover", mountPoint.toString());
    try {
      assertThat(HostLeftovers.mountsUnder(dir)).containsExactly(mountPoint);
      assertThat(HostLeftovers.mountsUnder(dir.resolveSibling("elsewhere"))).isEmpty();
    } finally {
      run("umount", mountPoint.toString());
    }
    assertThat(HostLeftovers.mountsUnder(dir)).isEmpty();
  }

  @Test
  void findsAProcessWorkingInTheTree() throws Exception {
    Process sleeper =
        new ProcessBuilder("sleep", "300")
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .start();
    try {
      assertThat(HostLeftovers.processesUsing(dir))
          .extracting(ProcessHandle::pid)
          .containsExactly(sleeper.pid());
    } finally {
      sleeper.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    assertThat(HostLeftovers.processesUsing(dir)).isEmpty();
  }

  @Test
  void findsANetnsMountNamedAfterAnId() throws Exception {
    String id = UUID.randomUUID().toString().replace("-", "");
    String name = "e2e-" + id.substring(0, 12);
    run("ip", "netns", "add", name);
    try {
      assertThat(HostLeftovers.netnsFilesNaming(List.of(id)))
          .extracting(path -> path.getFileName().toString())
          .contains(name);
      assertThat(HostLeftovers.netnsMountsNaming(List.of(id))).isNotEmpty();
      assertThat(HostLeftovers.netnsMountsNaming(List.of("0123456789abcdef0123"))).isEmpty();
    } finally {
      run("ip", "netns", "delete", name);
    }
    assertThat(HostLeftovers.netnsFilesNaming(List.of(id))).isEmpty();
    assertThat(HostLeftovers.netnsMountsNaming(List.of(id))).isEmpty();
  }

  private static void run(String... command) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes());
    assertThat(process.waitFor()).as("%s: %s", String.join(" ", command), output).isZero();
  }
}
