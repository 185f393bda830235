package io.spawnlet.cri.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class MountTableTest {
  @Test
  void parsesOptionalFieldsAndEscapedPaths() {
    MountTable table =
        MountTable.parse(
            List.of(
                "60 28 0:26 / /var/lib/some\\040thing/cg rw,relatime shared:9 master:2 - cgroup2"
                    + " cgroup2 rw,nsdelegate",
                "61 28 0:4 net:[4026532999] /run/spawnlet/ns/x/net rw - nsfs nsfs rw"));

    MountTable.Mount first = table.mounts().get(0);
    assertThat(first.mountPoint()).isEqualTo("/var/lib/some thing/cg");
    assertThat(first.optionalFields()).containsExactly("shared:9", "master:2");
    assertThat(first.fsType()).isEqualTo("cgroup2");
    assertThat(first.superOptions()).containsExactly("rw", "nsdelegate");
    assertThat(table.mounts().get(1).root()).isEqualTo("net:[4026532999]");
    assertThat(table.isMountPoint(Path.of("/run/spawnlet/ns/x/net"))).isTrue();
    assertThat(table.countAtOrBelow(Path.of("/run/spawnlet/ns"))).isEqualTo(1);
  }

  @Test
  void parentMountPointIsTheMountTheGivenOneSitsOn() {
    MountTable table =
        MountTable.parse(
            List.of(
                "27 1 254:0 / / rw - ext4 /dev/vda rw",
                "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw",
                "41 31 0:38 / /sys/fs/cgroup/unified rw shared:7 - cgroup2 cgroup2 rw"));

    assertThat(table.parentMountPoint(Path.of("/sys/fs/cgroup/unified")))
        .contains(Path.of("/sys/fs/cgroup"));
    assertThat(table.parentMountPoint(Path.of("/sys/fs/cgroup/memory"))).isEmpty();
    // parent 23 (/sys) is not listed
    assertThat(table.parentMountPoint(Path.of("/sys/fs/cgroup"))).isEmpty();
  }

  @Test
  void holderOfIsTheDeepestMountAboveAPathTheLastOfAStack() {
    MountTable table =
        MountTable.parse(
            List.of(
                "1 0 8:1 / / rw - ext4 /dev/vda rw",
                "2 1 8:1 /run /run rw shared:1 - tmpfs tmpfs rw",
                "3 2 8:1 /host/run /run/spawnlet rw shared:5 - ext4 /dev/vda rw",
                "4 2 8:1 /host/run /run/spawnlet rw shared:7 - ext4 /dev/vda rw"));

    assertThat(table.holderOf(Path.of("/run/spawnlet")).orElseThrow().id()).isEqualTo(4);
    assertThat(table.holderOf(Path.of("/run/spawnlet/ns")).orElseThrow().id()).isEqualTo(4);
    assertThat(table.holderOf(Path.of("/run/other")).orElseThrow().id()).isEqualTo(2);
    assertThat(table.holderOf(Path.of("/etc")).orElseThrow().id()).isEqualTo(1);
  }
}
