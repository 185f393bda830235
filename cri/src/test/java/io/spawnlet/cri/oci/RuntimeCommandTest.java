package io.spawnlet.cri.oci;

import static org.assertj.core.api.Assertions.assertThat;

import io.spawnlet.cri.host.CgroupHierarchies;
import io.spawnlet.cri.host.CgroupLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RuntimeCommandTest {
  @TempDir Path tmp;

  private static CgroupHierarchies layout(CgroupLayout mode) {
    return new CgroupHierarchies(
        mode,
        Map.of("memory", Path.of("/sys/fs/cgroup/memory")),
        Optional.of(Path.of("/sys/fs/cgroup/unified")));
  }

  @Test
  void crunOnHybridRunsThroughTheWrapper() throws Exception {
    RuntimeHandler crun = RuntimeHandler.crun(tmp.resolve("root"));
    RuntimeCommand command = RuntimeCommand.forHost(crun, layout(CgroupLayout.HYBRID), tmp);
    assertThat(command.executable()).isEqualTo(tmp.resolve("bin/crun-v1-view"));
    assertThat(Files.isExecutable(command.executable())).isTrue();
    assertThat(Files.readString(command.executable()))
        .contains("umount /sys/fs/cgroup/unified")
        .contains("/usr/bin/crun");
    assertThat(command.argv(List.of("state", "x")))
        .containsExactly(
            command.executable().toString(),
            "--root=" + tmp.resolve("root/crun"),
            "--cgroup-manager=cgroupfs",
            "state",
            "x");
  }

  @Test
  void wrapperKeepsTheHostsPropagationAndPrivatizesOnlyTheCgroup2Parent() {
    String script =
        RuntimeCommand.wrapperScript(
            Path.of("/usr/bin/crun"),
            Path.of("/sys/fs/cgroup/unified"),
            Optional.of(Path.of("/sys/fs/cgroup")));
    assertThat(script)
        .contains("unshare --mount --propagation unchanged")
        .contains(
            "'mount --make-private /sys/fs/cgroup && umount /sys/fs/cgroup/unified && exec \"$0\"");
  }

  @Test
  void wrapperWithoutAKnownParentIsWhollyPrivate() {
    String script =
        RuntimeCommand.wrapperScript(
            Path.of("/usr/bin/crun"), Path.of("/sys/fs/cgroup/unified"), Optional.empty());
    assertThat(script)
        .contains("unshare --mount --propagation private")
        .contains("'umount /sys/fs/cgroup/unified && exec")
        .doesNotContain("make-private");
  }

  @Test
  void crunOnV2AndRuncAnywhereRunDirectly() {
    RuntimeCommand crun =
        RuntimeCommand.forHost(RuntimeHandler.crun(tmp), layout(CgroupLayout.V2), tmp);
    assertThat(crun.executable()).isEqualTo(Path.of("/usr/bin/crun"));
    RuntimeCommand runc =
        RuntimeCommand.forHost(RuntimeHandler.runc(tmp), layout(CgroupLayout.HYBRID), tmp);
    assertThat(runc.executable()).isEqualTo(Path.of("/usr/bin/runc"));
    assertThat(Files.exists(tmp.resolve("bin"))).isFalse();
  }

  @Test
  void defaultHandlerName() {
    assertThat(RuntimeHandler.resolveName("")).isEqualTo("crun");
    assertThat(RuntimeHandler.resolveName("runc")).isEqualTo("runc");
  }
}
