package io.spawnlet.cri.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CgroupHierarchiesTest {
  private static final Path ROOT = Path.of("/fixture");

  static Path fixture(String name) throws Exception {
    return Path.of(CgroupHierarchiesTest.class.getResource("/cgroup/" + name).toURI());
  }

  /**
   * The fixture {@code name} copied under {@code dir} (plain directories and files standing in for
   * cgroupfs), detected there, with every hierarchy root created.
   */
  static CgroupHierarchies copyOf(String name, Path dir) throws Exception {
    Path from = fixture(name);
    try (java.util.stream.Stream<Path> walk = java.nio.file.Files.walk(from)) {
      for (Path p : walk.toList()) {
        Path to = dir.resolve(from.relativize(p).toString());
        if (java.nio.file.Files.isDirectory(p)) {
          java.nio.file.Files.createDirectories(to);
        } else {
          java.nio.file.Files.copy(p, to);
        }
      }
    }
    CgroupHierarchies h = CgroupHierarchies.detect(dir.resolve("mountinfo"), dir);
    for (Path root : h.roots()) {
      java.nio.file.Files.createDirectories(root);
    }
    return h;
  }

  @Test
  void pureV1WithCoMountedControllers() throws Exception {
    CgroupHierarchies h = CgroupHierarchies.detect(fixture("v1").resolve("mountinfo"), ROOT);

    assertThat(h.layout()).isEqualTo(CgroupLayout.V1);
    assertThat(h.unified()).isEmpty();
    Path cpu = ROOT.resolve("sys/fs/cgroup/cpu,cpuacct");
    assertThat(h.v1()).containsEntry("cpu", cpu).containsEntry("cpuacct", cpu);
    assertThat(h.v1())
        .containsEntry("name=systemd", ROOT.resolve("sys/fs/cgroup/systemd"))
        .containsEntry("net_prio", ROOT.resolve("sys/fs/cgroup/net_cls,net_prio"))
        .doesNotContainKeys("rw", "xattr")
        .allSatisfy((k, v) -> assertThat(k).doesNotStartWith("release_agent"));
    // the bind mount of a sub-tree (/kubepods) elsewhere is not taken as the hierarchy
    assertThat(h.roots()).hasSize(9).doesNotContain(ROOT.resolve("var/lib/other/cgroup"));
    assertThat(h.controller("memory", CgroupPath.parse("/a/b", "f")))
        .contains(
            new CgroupHierarchies.ControllerDir(ROOT.resolve("sys/fs/cgroup/memory/a/b"), false));
  }

  @Test
  void hybridAsOnThisKindOfHost() throws Exception {
    CgroupHierarchies h = CgroupHierarchies.detect(fixture("hybrid").resolve("mountinfo"), ROOT);

    assertThat(h.layout()).isEqualTo(CgroupLayout.HYBRID);
    assertThat(h.unified()).contains(ROOT.resolve("sys/fs/cgroup/unified"));
    assertThat(h.v1().keySet())
        .contains("cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "devices", "freezer")
        .contains("name=systemd");
    assertThat(h.roots()).hasSize(10).contains(ROOT.resolve("sys/fs/cgroup/unified"));
    // hugetlb has no v1 hierarchy: found in the unified one, with v2 file names
    assertThat(h.controller("hugetlb", CgroupPath.parse("/p", "f")).map(c -> c.v2()))
        .contains(true);
  }

  @Test
  void pureV2() throws Exception {
    CgroupHierarchies h = CgroupHierarchies.detect(fixture("v2").resolve("mountinfo"), ROOT);

    assertThat(h.layout()).isEqualTo(CgroupLayout.V2);
    assertThat(h.v1()).isEmpty();
    assertThat(h.unified()).contains(ROOT.resolve("sys/fs/cgroup"));
    assertThat(h.roots()).containsExactly(ROOT.resolve("sys/fs/cgroup"));
    assertThat(h.dirs(CgroupPath.parse("/spawnlet/abc", "f")))
        .containsExactly(ROOT.resolve("sys/fs/cgroup/spawnlet/abc"));
    assertThat(h.controller("memory", CgroupPath.parse("/x", "f")).map(c -> c.v2())).contains(true);
  }

  @Test
  void v2WithALeftoverNamedV1HierarchyIsStillV2() {
    MountTable table =
        MountTable.parse(
            List.of(
                "31 22 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw",
                "40 31 0:37 / /run/systemd-v1 rw - cgroup cgroup rw,name=systemd"));
    CgroupHierarchies h = CgroupHierarchies.from(table, ROOT);
    assertThat(h.layout()).isEqualTo(CgroupLayout.V2);
    assertThat(h.roots()).containsExactly(ROOT.resolve("sys/fs/cgroup"));
  }

  @Test
  void noCgroupsAtAllIsAnError() {
    MountTable table = MountTable.parse(List.of("26 1 8:1 / / rw - ext4 /dev/sda1 rw"));
    assertThatThrownBy(() -> CgroupHierarchies.from(table, ROOT))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("cgroup");
  }

  @Test
  void thisHostIsDetected() {
    CgroupHierarchies h = CgroupHierarchies.detect();
    assertThat(h.roots()).isNotEmpty();
    assertThat(CgroupLayout.detect()).isEqualTo(h.layout());
    assertThat(Optional.of(h.layout())).isPresent();
  }
}
