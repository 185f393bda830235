package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import runtime.v1.ContainerState;
import runtime.v1.ContainerStatus;
import runtime.v1.ContainerStatusRequest;
import runtime.v1.CreateContainerRequest;
import runtime.v1.ExecSyncRequest;
import runtime.v1.ExecSyncResponse;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.PodSandbox;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxState;
import runtime.v1.PodSandboxStatusRequest;
import runtime.v1.RemoveContainerRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.StartContainerRequest;
import runtime.v1.StopContainerRequest;
import runtime.v1.StopPodSandboxRequest;
import runtime.v1.VersionRequest;

/**
 * The daemon is killed with SIGKILL while containers run, one has exited before and one exits
 * during the outage; after the restart every sandbox, container, pid, exit code and IP is as it was
 * (conmon kept the containers, the pinned namespaces kept the network), and a clean teardown leaves
 * nothing on the host.
 */
class RestartIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration SLOW = Duration.ofSeconds(60);

  @RegisterExtension static final SpawnletDaemon DAEMON = SpawnletDaemon.create();

  private static CriProtos protos;

  @BeforeAll
  static void importBusybox() {
    protos = new CriProtos(DAEMON.podLogs());
    DAEMON.importTestImage("busybox", CriProtos.BUSYBOX);
  }

  @Test
  void kill9AndRestartKeepsSandboxesContainersPidsExitCodesAndIps() throws Exception {
    String suffix = CriProtos.suffix();
    String marker = "restart-" + suffix;
    List<String> ids = new ArrayList<>();
    String podA;
    String podB;
    String web;
    String three;
    String five;
    String ipA;
    String ipB;
    long webPid;
    long fivePid;
    try (CriClient cri = DAEMON.newClient()) {
      PodSandboxConfig configA = protos.pod("web-" + suffix).build();
      PodSandboxConfig configB = protos.pod("late-" + suffix).build();
      podA = runPod(cri, configA);
      podB = runPod(cri, configB);
      ids.addAll(List.of(podA, podB));
      web =
          createAndStart(
              cri,
              podA,
              configA,
              List.of(
                  "sh",
                  "-c",
                  "mkdir -p /www && echo "
                      + marker
                      + " > /www/index.html && exec httpd -f -p 8080 -h /www"));
      // Exits with 5 when the test says so: during the outage, deterministically.
      five =
          createAndStart(
              cri,
              podB,
              configB,
              List.of("sh", "-c", "while [ ! -e /tmp/exit-now ]; do sleep 0.1; done; exit 5"));
      three = createAndStart(cri, podA, configA, List.of("sh", "-c", "exit 3"));
      ids.addAll(List.of(web, five, three));
      await("container exiting with 3")
          .atMost(SLOW)
          .until(() -> status(cri, three).getState() == ContainerState.CONTAINER_EXITED);
      assertThat(status(cri, three).getExitCode()).isEqualTo(3);
      webPid = pid(cri, web);
      fivePid = pid(cri, five);
      ipA = ip(cri, podA);
      ipB = ip(cri, podB);
      awaitHttp(ipA, marker);
    }

    DAEMON.kill9();
    Files.createFile(Path.of("/proc", Long.toString(fivePid), "root", "tmp", "exit-now"));
    // Its conmon writes the exit code and leaves: only then is the exit settled on disk.
    await("container " + five + " and its conmon gone while spawnlet is down")
        .atMost(SLOW)
        .until(
            () ->
                ProcessHandle.of(fivePid).isEmpty()
                    && ProcessHandle.allProcesses()
                        .noneMatch(p -> p.info().commandLine().orElse("").contains(five)));
    DAEMON.start();

    try (CriClient cri = DAEMON.newClient()) {
      Map<String, PodSandbox> pods = new java.util.HashMap<>();
      cri.runtime()
          .listPodSandbox(ListPodSandboxRequest.getDefaultInstance())
          .getItemsList()
          .forEach(p -> pods.put(p.getId(), p));
      assertThat(pods).containsKeys(podA, podB);
      assertThat(pods.get(podA).getState()).isEqualTo(PodSandboxState.SANDBOX_READY);
      assertThat(pods.get(podB).getState()).isEqualTo(PodSandboxState.SANDBOX_READY);
      assertThat(ip(cri, podA)).isEqualTo(ipA);
      assertThat(ip(cri, podB)).isEqualTo(ipB);

      ContainerStatus webStatus = status(cri, web);
      assertThat(webStatus.getState()).isEqualTo(ContainerState.CONTAINER_RUNNING);
      assertThat(pid(cri, web)).isEqualTo(webPid);
      assertThat(Path.of("/proc", Long.toString(webPid))).exists();

      ContainerStatus threeStatus = status(cri, three);
      assertThat(threeStatus.getState()).isEqualTo(ContainerState.CONTAINER_EXITED);
      assertThat(threeStatus.getExitCode()).isEqualTo(3);
      assertThat(threeStatus.getFinishedAt()).isGreaterThan(threeStatus.getStartedAt());

      ContainerStatus fiveStatus = status(cri, five);
      assertThat(fiveStatus.getState()).isEqualTo(ContainerState.CONTAINER_EXITED);
      assertThat(fiveStatus.getExitCode()).isEqualTo(5);
      assertThat(fiveStatus.getFinishedAt()).isGreaterThan(fiveStatus.getStartedAt());

      awaitHttp(ipA, marker);
      assertThat(InetAddress.getByName(ipB).isReachable(5000)).as("%s reachable", ipB).isTrue();
      ExecSyncResponse exec =
          cri.runtime()
              .execSync(
                  ExecSyncRequest.newBuilder()
                      .setContainerId(web)
                      .addAllCmd(List.of("echo", "after-restart"))
                      .setTimeout(30)
                      .build());
      assertThat(exec.getExitCode()).isZero();
      assertThat(exec.getStdout().toStringUtf8()).isEqualTo("after-restart\n");

      for (String container : List.of(web, three, five)) {
        cri.runtime()
            .stopContainer(
                StopContainerRequest.newBuilder().setContainerId(container).setTimeout(5).build());
        cri.runtime()
            .removeContainer(RemoveContainerRequest.newBuilder().setContainerId(container).build());
      }
      for (String pod : List.of(podA, podB)) {
        cri.runtime()
            .stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
        cri.runtime()
            .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
      }
    }
    HostLeftovers.assertNoneOf(DAEMON, ids);
  }

  @Test
  void aSecondDaemonOnTheSameSocketIsRefused() {
    SpawnletDaemon.Attempt second = DAEMON.startAnother(Duration.ofSeconds(90));
    assertThat(second.exited()).as("the second daemon gave up; output:\n%s", second).isTrue();
    assertThat(second.exitCode()).as("%s", second).isNotZero();
    assertThat(second.output()).contains("another spawnlet daemon owns " + DAEMON.socket());
    try (CriClient cri = DAEMON.newClient()) {
      assertThat(cri.runtime().version(VersionRequest.getDefaultInstance()).getRuntimeName())
          .isNotEmpty();
    }
  }

  private static String runPod(CriClient cri, PodSandboxConfig config) {
    return cri.runtime()
        .runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build())
        .getPodSandboxId();
  }

  private static String createAndStart(
      CriClient cri, String pod, PodSandboxConfig podConfig, List<String> command) {
    String name = "c" + CriProtos.suffix();
    String id =
        cri.runtime()
            .createContainer(
                CreateContainerRequest.newBuilder()
                    .setPodSandboxId(pod)
                    .setConfig(CriProtos.container(name, command))
                    .setSandboxConfig(podConfig)
                    .build())
            .getContainerId();
    cri.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
    return id;
  }

  static ContainerStatus status(CriClient cri, String id) {
    return cri.runtime()
        .containerStatus(ContainerStatusRequest.newBuilder().setContainerId(id).build())
        .getStatus();
  }

  /** The pid in ContainerStatus' verbose info, as crictl inspect shows it. */
  static long pid(CriClient cri, String id) throws IOException {
    String info =
        cri.runtime()
            .containerStatus(
                ContainerStatusRequest.newBuilder().setContainerId(id).setVerbose(true).build())
            .getInfoOrThrow("info");
    long pid = JSON.readTree(info).path("pid").asLong();
    assertThat(pid).as("pid of %s in %s", id, info).isPositive();
    return pid;
  }

  static String ip(CriClient cri, String pod) {
    return cri.runtime()
        .podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(pod).build())
        .getStatus()
        .getNetwork()
        .getIp();
  }

  private static void awaitHttp(String ip, String marker) {
    PodHttp.awaitBody("http://" + ip + ":8080/", SLOW, body -> assertThat(body).contains(marker));
  }
}
