package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fixture the Helm chart's node suite stands on: an ordinary node (upstream kubelet on Debian's
 * containerd, both private to a temp dir) joins the e2e control plane, runs a busybox pod pulled
 * from the loopback registry, and leaves nothing on the host when it stops.
 */
@KubernetesSuite
class KubeletNodeIT {
  @TempDir static Path work;
  private static ControlPlane controlPlane;
  private static LoopbackRegistry registry;

  @BeforeAll
  static void start() throws IOException {
    controlPlane = ControlPlane.start(work.resolve("control-plane"));
    registry =
        LoopbackRegistry.start(
            Files.createDirectories(work.resolve("empty-storage")), work.resolve("registry"), null);
  }

  @AfterAll
  static void stop() {
    if (registry != null) {
      registry.close();
    }
    if (controlPlane != null) {
      controlPlane.close();
    }
  }

  @Test
  void runsABusyboxPodAndLeavesTheHostClean() throws IOException {
    String busybox =
        registry.push(
            "oci:" + E2eEnvironment.fromSystem().testImageReference("busybox"),
            "test/busybox:latest");
    String name = "kubelet-" + Long.toHexString(System.nanoTime() & 0xffffffL);
    Path dir = work.resolve("node");
    KubeletNode node = KubeletNode.start(dir, name, controlPlane, registry);
    try {
      node.awaitReady(Duration.ofMinutes(2));
      Path pod =
          Files.writeString(
              work.resolve("busybox.yaml"),
              """
              apiVersion: v1
              kind: Pod
              metadata: {name: busybox}
              spec:
                nodeName: %s
                containers:
                - name: busybox
                  image: %s
                  command: [sh, -c, "sleep 3600"]
              """
                  .formatted(name, busybox));
      controlPlane.kubectl("apply", "-f", pod.toString()).requireSuccess();
      ProcessResult running =
          controlPlane.kubectl(
              "wait", "--for=jsonpath={.status.phase}=Running", "pod/busybox", "--timeout=120s");
      assertThat(running.succeeded())
          .as("busybox Running: %s\nkubelet:\n%s", running, node.logTail("kubelet"))
          .isTrue();
      String podIp =
          controlPlane
              .kubectl("get", "pod", "busybox", "-o", "jsonpath={.status.podIP}")
              .requireSuccess();
      assertThat(podIp).startsWith(node.subnet().substring(0, node.subnet().lastIndexOf('.')));
    } finally {
      node.close();
    }

    assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(dir.toString());
    assertThat(run("ip", "link", "show", node.bridge()).succeeded()).isFalse();
    assertThat(Path.of("/sys/fs/cgroup/memory/kubelet-" + name)).doesNotExist();
    assertThat(run("pgrep", "-f", dir.toString()).succeeded()).isFalse();
  }

  private static ProcessResult run(String... command) {
    return ProcessResult.run(
        List.of(command), Map.of(), work.resolve("scratch"), Duration.ofSeconds(30));
  }
}
