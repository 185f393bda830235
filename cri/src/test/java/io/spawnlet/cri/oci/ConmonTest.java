package io.spawnlet.cri.oci;

import static org.assertj.core.api.Assertions.assertThat;

import io.spawnlet.cri.host.CgroupHierarchies;
import io.spawnlet.cri.host.CgroupLayout;
import io.spawnlet.cri.host.ProcessSpawner;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ConmonTest {
  private final CgroupHierarchies layout =
      new CgroupHierarchies(CgroupLayout.V2, Map.of(), Optional.of(Path.of("/sys/fs/cgroup")));
  private final RuntimeCommand crun =
      RuntimeCommand.forHost(
          RuntimeHandler.crun(Path.of("/run/s/runtime")), layout, Path.of("/run/s/oci"));
  private final Conmon conmon =
      new Conmon(
          crun,
          Path.of("/run/s/exits"),
          Path.of("/run/s/sockets"),
          new MonitorCgroup(layout),
          new ProcessSpawner(),
          "info");

  @Test
  void argvForAPlainContainer() {
    List<String> argv =
        conmon.createArgv(
            CreateRequest.of(
                "abc", "pod_app", Path.of("/b/abc"), Path.of("/logs/app/0.log"), "/p"));
    assertThat(String.join(" ", argv))
        .isEqualTo(
            "/usr/bin/conmon --api-version 1 -c abc -u abc -r /usr/bin/crun -b /b/abc"
                + " -p /b/abc/pidfile -P /b/abc/conmon.pid -n pod_app -l k8s-file:/logs/app/0.log"
                + " --exit-dir /run/s/exits --persist-dir /b/abc --socket-dir-path /run/s/sockets"
                + " --log-level info --runtime-arg --root=/run/s/runtime/crun"
                + " --runtime-arg --cgroup-manager=cgroupfs --runtime-arg --log=/b/abc/runtime.log");
  }

  @Test
  void terminalStdinAndPassedFds() {
    List<String> argv =
        conmon.createArgv(
            new CreateRequest(
                "abc",
                "n",
                Path.of("/b"),
                Path.of("/l"),
                true,
                true,
                false,
                "/p",
                List.of(7, 8),
                Duration.ofSeconds(5)));
    assertThat(argv).contains("-t", "-i", "--leave-stdin-open", "--preserve-fds=2");
    assertThat(argv).doesNotContain("-s", "--syslog", "--no-pivot");
  }

  @Test
  void monitorCgroupPath() {
    assertThat(MonitorCgroup.path("/spawnlet/pod-1", "c1")).isEqualTo("/spawnlet/pod-1/conmon-c1");
    assertThat(MonitorCgroup.path("", "c1")).isEqualTo("/spawnlet/conmon-c1");
  }
}
