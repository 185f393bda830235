package io.spawnlet.cri.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Delegation on copies of the v1, hybrid and v2 fixture trees (directories and files stand in for
 * cgroupfs; chown needs root, as the daemon).
 */
class CgroupDelegationTest {
  private static final long UID = 1 << 20;
  private static final long GID = (1 << 20) + 7;

  @TempDir Path tmp;

  private CgroupHierarchies copy(String layout) throws Exception {
    return CgroupHierarchiesTest.copyOf(layout, tmp);
  }

  @ParameterizedTest
  @ValueSource(strings = {"v1", "hybrid", "v2"})
  void theContainerCgroupAndItsProcessFilesGoToTheMappedRootItsLimitsDoNot(String layout)
      throws Exception {
    CgroupHierarchies h = copy(layout);
    CgroupPath path = CgroupPath.parse("/spawnlet/pod1/c1", "test");
    List<Path> dirs = h.dirs(path);
    // as the runtime leaves them: every hierarchy but one (crun's v1 view skips the unified one)
    for (Path dir : dirs.subList(0, dirs.size() > 1 ? dirs.size() - 1 : 1)) {
      Files.createDirectories(dir);
      for (String f : List.of("cgroup.procs", "tasks", "cgroup.subtree_control", "memory.max")) {
        Files.writeString(dir.resolve(f), "");
      }
    }

    new CgroupDelegation(h).delegate("/spawnlet/pod1/c1", UID, GID);

    for (Path dir : dirs) {
      if (!Files.exists(dir)) {
        continue;
      }
      assertThat(owner(dir)).as(dir.toString()).isEqualTo(UID + ":" + GID);
      assertThat(owner(dir.resolve("cgroup.procs"))).isEqualTo(UID + ":" + GID);
      assertThat(owner(dir.resolve("tasks"))).isEqualTo(UID + ":" + GID);
      assertThat(owner(dir.resolve("cgroup.subtree_control"))).isEqualTo(UID + ":" + GID);
      assertThat(owner(dir.resolve("memory.max"))).as("a limit").isEqualTo("0:0");
      assertThat(owner(dir.getParent())).as("the pod's cgroup").isEqualTo("0:0");
    }
  }

  private static String owner(Path p) throws Exception {
    return Files.getAttribute(p, "unix:uid") + ":" + Files.getAttribute(p, "unix:gid");
  }
}
