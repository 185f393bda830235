package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import runtime.v1.CreateContainerRequest;
import runtime.v1.ListContainersRequest;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.PodSandboxConfig;
import runtime.v1.RemoveContainerRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.StartContainerRequest;
import runtime.v1.StopContainerRequest;
import runtime.v1.StopPodSandboxRequest;

/**
 * The whole life of a pod, again and again (as a kubelet with a crash-looping job would drive it),
 * through gRPC: afterwards nothing of any of them is left on the host — no mount, pinned netns, IP
 * lease, cgroup, process, veth — and the daemon holds no more file descriptors than before.
 */
class CreateRemoveLeakIT {
  private static final int ITERATIONS = 200;
  private static final int WARM_UP = 3;

  /** A few pods at a time, as a node starting several workloads would: it also shakes out races. */
  private static final int CONCURRENT = 2;

  /** Descriptors the JVM may open lazily meanwhile (class loading, a new event-loop thread ...). */
  private static final int FD_SLACK = 8;

  @RegisterExtension static final SpawnletDaemon DAEMON = SpawnletDaemon.create();

  private static CriProtos protos;

  @BeforeAll
  static void importBusybox() {
    protos = new CriProtos(DAEMON.podLogs());
    DAEMON.importTestImage("busybox", CriProtos.BUSYBOX);
  }

  @Test
  void podLifecyclesLeaveNothingBehind() throws Exception {
    List<String> ids = Collections.synchronizedList(new ArrayList<>());
    long daemonPid = DAEMON.pid().orElseThrow();
    try (CriClient cri = DAEMON.newClient()) {
      for (int i = 0; i < WARM_UP; i++) {
        ids.addAll(lifecycle(cri, i));
      }
      int fdsBefore = HostLeftovers.openFiles(daemonPid);
      long t0 = System.nanoTime();
      try (ExecutorService workers = Executors.newFixedThreadPool(CONCURRENT)) {
        List<Future<List<String>>> runs = new ArrayList<>();
        for (int i = 0; i < ITERATIONS; i++) {
          int n = WARM_UP + i;
          runs.add(workers.submit(() -> lifecycle(cri, n)));
        }
        for (Future<List<String>> run : runs) {
          ids.addAll(run.get());
        }
      }
      System.err.printf(
          "CreateRemoveLeakIT: %d pod lifecycles (%d at a time) in %d ms%n",
          ITERATIONS, CONCURRENT, (System.nanoTime() - t0) / 1_000_000);
      int fdsAfter = HostLeftovers.openFiles(daemonPid);
      assertThat(fdsAfter)
          .as("open files of the daemon: %d before, %d after", fdsBefore, fdsAfter)
          .isLessThanOrEqualTo(fdsBefore + FD_SLACK);

      assertThat(
              cri.runtime()
                  .listPodSandbox(ListPodSandboxRequest.getDefaultInstance())
                  .getItemsList())
          .isEmpty();
      assertThat(
              cri.runtime()
                  .listContainers(ListContainersRequest.getDefaultInstance())
                  .getContainersList())
          .isEmpty();
    }
    HostLeftovers.assertNoneOf(DAEMON, ids);
    assertThat(HostLeftovers.mountsUnder(DAEMON.root().resolve("storage")))
        .as("container rootfs mounts")
        .isEmpty();
  }

  /** RunPodSandbox → CreateContainer → Start → Stop → Remove → StopPodSandbox → Remove. */
  private static List<String> lifecycle(CriClient cri, int n) {
    String name = "leak-" + n + "-" + CriProtos.suffix();
    PodSandboxConfig config = protos.pod(name).build();
    String pod =
        cri.runtime()
            .runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build())
            .getPodSandboxId();
    String container =
        cri.runtime()
            .createContainer(
                CreateContainerRequest.newBuilder()
                    .setPodSandboxId(pod)
                    .setConfig(CriProtos.container("sleeper", List.of("sleep", "3600")))
                    .setSandboxConfig(config)
                    .build())
            .getContainerId();
    cri.runtime()
        .startContainer(StartContainerRequest.newBuilder().setContainerId(container).build());
    cri.runtime()
        .stopContainer(
            StopContainerRequest.newBuilder().setContainerId(container).setTimeout(0).build());
    cri.runtime()
        .removeContainer(RemoveContainerRequest.newBuilder().setContainerId(container).build());
    cri.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
    cri.runtime()
        .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
    return List.of(pod, container, config.getMetadata().getUid());
  }
}
