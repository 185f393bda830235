package io.spawnlet.cri.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.spawnlet.cri.CriException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Creates a pod cgroup in this host's real hierarchies (root needed) under a unique parent. */
class PodCgroupsIT {
  private final CgroupHierarchies hierarchies = CgroupHierarchies.detect();
  private final PodCgroups cgroups = new PodCgroups(hierarchies);
  private final CgroupAccounting accounting = new CgroupAccounting(hierarchies);
  private final String top =
      "spawnlet-it-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
  private Process sleeper;

  @AfterEach
  void tearDown() throws Exception {
    if (sleeper != null) {
      sleeper.destroyForcibly().waitFor();
    }
    cgroups.remove("/" + top);
    for (Path root : hierarchies.roots()) {
      assertThat(root.resolve(top)).doesNotExist();
    }
  }

  @Test
  void createMoveReadKillRemove() throws Exception {
    String pod = "/" + top + "/besteffort/pod-1";
    CgroupPath path = cgroups.create(pod);
    cgroups.create(pod); // idempotent

    for (Path dir : hierarchies.dirs(path)) {
      assertThat(dir.resolve("cgroup.procs")).as(dir.toString()).exists();
    }
    hierarchies
        .controller("cpuset", path)
        .filter(c -> !c.v2())
        .ifPresent(
            c ->
                assertThat(read(c.dir().resolve("cpuset.cpus")))
                    .isEqualTo(
                        read(c.dir().getParent().getParent().getParent().resolve("cpuset.cpus"))));

    sleeper = new ProcessBuilder("sleep", "1000").start();
    int pid = (int) sleeper.pid();
    cgroups.addProcess(pod, pid);

    assertThat(accounting.pids(pod)).containsExactly(pid);
    assertThat(accounting.pids("/" + top)).containsExactly(pid);
    CgroupStats stats = accounting.read(pod);
    assertThat(stats.cpuUsageNanos()).isPresent();
    assertThat(stats.memoryUsageBytes()).isPresent();
    assertThat(stats.workingSetBytes()).isPresent();
    assertThat(stats.pidsCurrent()).hasValue(1);

    assertThatThrownBy(() -> cgroups.remove(pod))
        .isInstanceOfSatisfying(
            CriException.class,
            e -> {
              assertThat(e.kind()).isEqualTo(CriException.Kind.FAILED_PRECONDITION);
              assertThat(e).hasMessageContaining(Integer.toString(pid));
            });

    sleeper.destroyForcibly().waitFor();
    cgroups.remove(pod);

    assertThat(accounting.pids("/" + top)).isEmpty();
    for (Path dir : hierarchies.dirs(path)) {
      assertThat(dir).doesNotExist();
      assertThat(dir.getParent()).exists(); // only the pod cgroup goes, not its parents
    }
    cgroups.remove(pod); // idempotent
  }

  private static String read(Path file) {
    try {
      return Files.readString(file).trim();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
