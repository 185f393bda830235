package io.spawnlet.cri.oci;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class CgroupLayoutTest {
  private static final String HYBRID =
      """
      31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
      32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
      35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
      40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
      41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
      """;
  private static final String V2 =
      """
      22 1 0:21 / / rw - ext4 /dev/vda rw
      30 22 0:26 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate
      """;

  @Test
  void hybrid() {
    CgroupLayout layout = CgroupLayout.parse(HYBRID);
    assertThat(layout.mode()).isEqualTo(CgroupLayout.Mode.HYBRID);
    assertThat(layout.unifiedMount()).isEqualTo(Path.of("/sys/fs/cgroup/unified"));
    assertThat(layout.mountPoints()).hasSize(4);
  }

  @Test
  void pureV2() {
    CgroupLayout layout = CgroupLayout.parse(V2);
    assertThat(layout.mode()).isEqualTo(CgroupLayout.Mode.V2);
    assertThat(layout.mountPoints()).containsExactly(Path.of("/sys/fs/cgroup"));
  }

  @Test
  void pureV1() {
    assertThat(
            CgroupLayout.parse(HYBRID.lines().limit(4).reduce("", (a, b) -> a + b + "\n")).mode())
        .isEqualTo(CgroupLayout.Mode.V1);
  }

  @Test
  void thisHostIsDetected() {
    assertThat(CgroupLayout.detect().mountPoints()).isNotEmpty();
  }
}
