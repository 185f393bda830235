package io.spawnlet.cri.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.spawnlet.cri.CriException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Creation on copies of the fixture trees (plain directories stand in for cgroupfs). */
class PodCgroupsTest {
  @TempDir Path tmp;

  private CgroupHierarchies copy(String layout) throws Exception {
    return CgroupHierarchiesTest.copyOf(layout, tmp);
  }

  @Test
  void v2EnablesControllersInEveryAncestorButNotInThePodCgroup() throws Exception {
    CgroupHierarchies h = copy("v2");
    Path root = h.unified().orElseThrow();

    CgroupPath path = new PodCgroups(h).create("/kubepods/besteffort/pod-42");

    assertThat(path.toString()).isEqualTo("/kubepods/besteffort/pod-42");
    assertThat(root.resolve("kubepods/besteffort/pod-42")).isDirectory();
    // root had memory enabled already and offers no more than these
    assertThat(read(root.resolve("cgroup.subtree_control"))).isEqualTo("+cpu +pids +io +cpuset");
    assertThat(read(root.resolve("kubepods/cgroup.subtree_control")))
        .isEqualTo("+cpu +memory +pids +io +cpuset");
    assertThat(root.resolve("kubepods/besteffort/pod-42/cgroup.subtree_control")).doesNotExist();
  }

  @Test
  void v1CreatesInEveryHierarchyAndCopiesCpusetsDown() throws Exception {
    CgroupHierarchies h = copy("v1");

    new PodCgroups(h).create("/kubepods/besteffort/pod-42");

    for (Path root : h.roots()) {
      assertThat(root.resolve("kubepods/besteffort/pod-42")).as(root.toString()).isDirectory();
    }
    Path cpuset = h.v1().get("cpuset");
    // kubepods had its own (narrower) cpus: the new levels inherit those, not the root's
    assertThat(read(cpuset.resolve("kubepods/besteffort/cpuset.cpus"))).isEqualTo("0-1");
    assertThat(read(cpuset.resolve("kubepods/besteffort/pod-42/cpuset.cpus"))).isEqualTo("0-1");
    assertThat(read(cpuset.resolve("kubepods/besteffort/pod-42/cpuset.mems"))).isEqualTo("0");
  }

  @Test
  void pathsThatEscapeOrNameTheRootAreRejected() throws Exception {
    PodCgroups cgroups = new PodCgroups(copy("v2"));
    for (String bad :
        new String[] {"/kubepods/../../etc", "..", "/", "", "a/../b", "kubepods.slice", "x:y:z"}) {
      assertThatThrownBy(() -> cgroups.create(bad))
          .as(bad)
          .isInstanceOfSatisfying(
              CriException.class,
              e -> {
                assertThat(e.kind()).isEqualTo(CriException.Kind.INVALID_ARGUMENT);
                assertThat(e).hasMessageStartingWith("linux.cgroup_parent: ");
              });
      assertThatThrownBy(() -> cgroups.remove(bad)).isInstanceOf(CriException.class);
    }
    assertThat(PodCgroups.parse("//kubepods/./pod1/").toString()).isEqualTo("/kubepods/pod1");
  }

  private static String read(Path file) throws IOException {
    return Files.readString(file).trim();
  }
}
