package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Context;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerEventResponse;
import runtime.v1.ContainerEventType;
import runtime.v1.ContainerFilter;
import runtime.v1.ContainerState;
import runtime.v1.ContainerStateValue;
import runtime.v1.ContainerStats;
import runtime.v1.ContainerStatsFilter;
import runtime.v1.ContainerStatsRequest;
import runtime.v1.CreateContainerRequest;
import runtime.v1.ExecSyncRequest;
import runtime.v1.ExecSyncResponse;
import runtime.v1.GetEventsRequest;
import runtime.v1.LinuxContainerConfig;
import runtime.v1.LinuxContainerResources;
import runtime.v1.LinuxPodSandboxConfig;
import runtime.v1.LinuxSandboxSecurityContext;
import runtime.v1.ListContainerStatsRequest;
import runtime.v1.ListContainersRequest;
import runtime.v1.ListPodSandboxRequest;
import runtime.v1.ListPodSandboxStatsRequest;
import runtime.v1.NamespaceMode;
import runtime.v1.NamespaceOption;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxFilter;
import runtime.v1.PodSandboxState;
import runtime.v1.PodSandboxStateValue;
import runtime.v1.PodSandboxStats;
import runtime.v1.PodSandboxStatsFilter;
import runtime.v1.PodSandboxStatsRequest;
import runtime.v1.PodSandboxStatusRequest;
import runtime.v1.PortMapping;
import runtime.v1.Protocol;
import runtime.v1.RemoveContainerRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.ReopenContainerLogRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.StartContainerRequest;
import runtime.v1.StopContainerRequest;
import runtime.v1.StopPodSandboxRequest;
import runtime.v1.UpdateContainerResourcesRequest;

/**
 * The CRI RuntimeService surface a kubelet relies on beyond create/start/stop, through gRPC on the
 * real socket: list filters, stats, resource updates, log reopening, the event stream, runtime
 * handlers, ExecSync timeouts, stop timeouts and host ports. Each test makes its own pods and
 * removes them.
 */
class CriApiIT {
  private static final Duration SLOW = Duration.ofSeconds(60);
  private static final long MIB = 1024 * 1024;

  @RegisterExtension static final SpawnletDaemon DAEMON = SpawnletDaemon.create();

  private static CriProtos protos;
  private static CriClient cri;
  private final List<String> pods = new ArrayList<>();

  @BeforeAll
  static void importBusybox() {
    protos = new CriProtos(DAEMON.podLogs());
    DAEMON.importTestImage("busybox", CriProtos.BUSYBOX);
    cri = DAEMON.newClient();
  }

  @AfterAll
  static void closeClient() {
    if (cri != null) {
      cri.close();
    }
  }

  @AfterEach
  void removePods() {
    for (String pod : pods) {
      cri.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
      cri.runtime()
          .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
    }
    HostLeftovers.assertNoneOf(DAEMON, pods);
    pods.clear();
  }

  @Test
  void listPodSandboxAndListContainersFilter() {
    String suffix = CriProtos.suffix();
    PodSandboxConfig configA =
        protos.pod("list-a-" + suffix).putLabels("app", "a-" + suffix).build();
    PodSandboxConfig configB =
        protos.pod("list-b-" + suffix).putLabels("app", "b-" + suffix).build();
    String podA = runPod(configA);
    String podB = runPod(configB);
    String running =
        createAndStart(podA, configA, container("run", "sleep", "3600").putLabels("tier", suffix));
    String created = create(podA, configA, container("idle", "sleep", "3600"));
    String other = createAndStart(podB, configB, container("other", "sleep", "3600"));
    cri.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podB).build());

    assertThat(listPods(PodSandboxFilter.newBuilder().setId(podA.substring(0, 12))))
        .containsExactly(podA);
    assertThat(listPods(PodSandboxFilter.newBuilder().putLabelSelector("app", "b-" + suffix)))
        .containsExactly(podB);
    assertThat(
            listPods(
                PodSandboxFilter.newBuilder()
                    .setState(
                        PodSandboxStateValue.newBuilder()
                            .setState(PodSandboxState.SANDBOX_NOTREADY))))
        .contains(podB)
        .doesNotContain(podA);
    assertThat(
            listPods(
                PodSandboxFilter.newBuilder()
                    .setState(
                        PodSandboxStateValue.newBuilder().setState(PodSandboxState.SANDBOX_READY))
                    .putLabelSelector("io.spawnlet.e2e", "true")))
        .contains(podA)
        .doesNotContain(podB);
    assertThat(listPods(PodSandboxFilter.newBuilder().putLabelSelector("app", "nobody"))).isEmpty();

    assertThat(listContainers(ContainerFilter.newBuilder().setId(running.substring(0, 12))))
        .containsExactly(running);
    assertThat(listContainers(ContainerFilter.newBuilder().setPodSandboxId(podA)))
        .containsExactlyInAnyOrder(running, created);
    assertThat(
            listContainers(
                ContainerFilter.newBuilder()
                    .setPodSandboxId(podA)
                    .setState(
                        ContainerStateValue.newBuilder()
                            .setState(ContainerState.CONTAINER_CREATED))))
        .containsExactly(created);
    assertThat(
            listContainers(
                ContainerFilter.newBuilder()
                    .setState(
                        ContainerStateValue.newBuilder()
                            .setState(ContainerState.CONTAINER_EXITED))))
        .contains(other)
        .doesNotContain(running, created);
    assertThat(listContainers(ContainerFilter.newBuilder().putLabelSelector("tier", suffix)))
        .containsExactly(running);
  }

  @Test
  void statsOfABusyContainerAndItsPodAreNonZero() {
    PodSandboxConfig config = protos.pod("stats-" + CriProtos.suffix()).build();
    String pod = runPod(config);
    String busy =
        createAndStart(
            pod,
            config,
            container(
                "busy",
                "sh",
                "-c",
                "x=$(head -c 4000000 /dev/zero | tr '\\0' a); while :; do :; done"));

    await("cpu and memory of " + busy)
        .atMost(SLOW)
        .untilAsserted(
            () -> {
              ContainerStats stats =
                  cri.runtime()
                      .containerStats(
                          ContainerStatsRequest.newBuilder().setContainerId(busy).build())
                      .getStats();
              assertThat(stats.getAttributes().getId()).isEqualTo(busy);
              assertThat(stats.getCpu().getUsageCoreNanoSeconds().getValue()).isPositive();
              assertThat(stats.getMemory().getWorkingSetBytes().getValue()).isPositive();
            });
    List<ContainerStats> listed =
        cri.runtime()
            .listContainerStats(
                ListContainerStatsRequest.newBuilder()
                    .setFilter(ContainerStatsFilter.newBuilder().setPodSandboxId(pod))
                    .build())
            .getStatsList();
    assertThat(listed).extracting(s -> s.getAttributes().getId()).containsExactly(busy);
    assertThat(listed.getFirst().getCpu().getUsageCoreNanoSeconds().getValue()).isPositive();

    PodSandboxStats podStats =
        cri.runtime()
            .podSandboxStats(PodSandboxStatsRequest.newBuilder().setPodSandboxId(pod).build())
            .getStats();
    assertThat(podStats.getAttributes().getId()).isEqualTo(pod);
    assertThat(podStats.getLinux().getCpu().getUsageCoreNanoSeconds().getValue()).isPositive();
    assertThat(podStats.getLinux().getMemory().getWorkingSetBytes().getValue()).isPositive();
    assertThat(podStats.getLinux().getContainersList())
        .extracting(s -> s.getAttributes().getId())
        .containsExactly(busy);
    List<PodSandboxStats> listedPods =
        cri.runtime()
            .listPodSandboxStats(
                ListPodSandboxStatsRequest.newBuilder()
                    .setFilter(PodSandboxStatsFilter.newBuilder().setId(pod))
                    .build())
            .getStatsList();
    assertThat(listedPods).extracting(s -> s.getAttributes().getId()).containsExactly(pod);
    assertThat(listedPods.getFirst().getLinux().getCpu().getUsageCoreNanoSeconds().getValue())
        .isPositive();
  }

  @Test
  void updateContainerResourcesSetsTheMemoryLimitInTheContainersCgroup() throws IOException {
    PodSandboxConfig config = protos.pod("update-" + CriProtos.suffix()).build();
    String pod = runPod(config);
    String id = createAndStart(pod, config, container("limited", "sleep", "3600"));
    long limit = 96 * MIB;
    cri.runtime()
        .updateContainerResources(
            UpdateContainerResourcesRequest.newBuilder()
                .setContainerId(id)
                .setLinux(LinuxContainerResources.newBuilder().setMemoryLimitInBytes(limit))
                .build());
    assertThat(memoryLimitOf(RestartIT.pid(cri, id))).isEqualTo(limit);
  }

  @Test
  void reopenContainerLogWritesNewLinesToANewFile() throws IOException {
    PodSandboxConfig config = protos.pod("reopen-" + CriProtos.suffix()).build();
    String pod = runPod(config);
    String id =
        createAndStart(
            pod,
            config,
            container(
                "chatty",
                "sh",
                "-c",
                "i=0; while :; do echo line-$i; i=$((i+1)); sleep 0.1; done"));
    Path log = Path.of(config.getLogDirectory(), "chatty", "0.log");
    await("lines in " + log).atMost(SLOW).until(() -> Files.exists(log) && Files.size(log) > 0);
    Path rotated = log.resolveSibling("0.log.rotated");
    Files.move(log, rotated);
    cri.runtime()
        .reopenContainerLog(ReopenContainerLogRequest.newBuilder().setContainerId(id).build());
    await("new lines in a new " + log)
        .atMost(SLOW)
        .untilAsserted(() -> assertThat(Files.readString(log)).contains("stdout"));
    // The rotated file is complete lines in CRI format, and the new one continues the count.
    String last = lastLine(rotated);
    assertThat(last).matches("\\S+ stdout F line-\\d+");
    int lastNumber = Integer.parseInt(last.substring(last.lastIndexOf('-') + 1));
    await("later lines in " + log)
        .atMost(SLOW)
        .untilAsserted(
            () -> assertThat(Files.readString(log)).contains("line-" + (lastNumber + 1)));
  }

  @Test
  void getContainerEventsStreamsCreatedStartedStoppedDeleted() {
    ConcurrentLinkedQueue<ContainerEventResponse> events = new ConcurrentLinkedQueue<>();
    Context.CancellableContext stream = Context.current().withCancellation();
    try {
      stream.run(
          () ->
              cri.runtimeAsync()
                  .getContainerEvents(
                      GetEventsRequest.getDefaultInstance(),
                      new StreamObserver<>() {
                        @Override
                        public void onNext(ContainerEventResponse event) {
                          events.add(event);
                        }

                        @Override
                        public void onError(Throwable t) {}

                        @Override
                        public void onCompleted() {}
                      }));
      PodSandboxConfig config = protos.pod("events-" + CriProtos.suffix()).build();
      String pod = runPod(config);
      // The stream is open once the daemon answers a call made after it.
      cri.runtime()
          .podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(pod).build());
      String id = createAndStart(pod, config, container("evented", "sleep", "3600"));
      cri.runtime()
          .stopContainer(
              StopContainerRequest.newBuilder().setContainerId(id).setTimeout(0).build());
      cri.runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
      await("events of " + id)
          .atMost(SLOW)
          .untilAsserted(
              () ->
                  assertThat(
                          events.stream()
                              .filter(e -> e.getContainerId().equals(id))
                              .map(ContainerEventResponse::getContainerEventType))
                      .containsSubsequence(
                          ContainerEventType.CONTAINER_CREATED_EVENT,
                          ContainerEventType.CONTAINER_STARTED_EVENT,
                          ContainerEventType.CONTAINER_STOPPED_EVENT,
                          ContainerEventType.CONTAINER_DELETED_EVENT));
    } finally {
      stream.cancel(null);
    }
  }

  @Test
  void runtimeHandlerRuncIsSelectablePerPodAndAnUnknownOneIsInvalid() throws IOException {
    PodSandboxConfig config = protos.pod("runc-" + CriProtos.suffix()).build();
    String pod =
        cri.runtime()
            .runPodSandbox(
                RunPodSandboxRequest.newBuilder()
                    .setConfig(config)
                    .setRuntimeHandler("runc")
                    .build())
            .getPodSandboxId();
    pods.add(pod);
    assertThat(
            cri.runtime()
                .podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(pod).build())
                .getStatus()
                .getRuntimeHandler())
        .isEqualTo("runc");
    String id = createAndStart(pod, config, container("under-runc", "sleep", "3600"));
    String info =
        cri.runtime()
            .containerStatus(
                runtime.v1.ContainerStatusRequest.newBuilder()
                    .setContainerId(id)
                    .setVerbose(true)
                    .build())
            .getInfoOrThrow("info");
    assertThat(info).contains("\"runtimeHandler\":\"runc\"");
    assertThat(exec(id, 30, "echo", "from-runc").getStdout().toStringUtf8())
        .isEqualTo("from-runc\n");

    PodSandboxConfig unknown = protos.pod("unknown-handler-" + CriProtos.suffix()).build();
    assertThat(
            CriClient.codeOf(
                () ->
                    cri.runtime()
                        .runPodSandbox(
                            RunPodSandboxRequest.newBuilder()
                                .setConfig(unknown)
                                .setRuntimeHandler("no-such-runtime")
                                .build())))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(listPods(PodSandboxFilter.newBuilder())).doesNotContain("no-such-runtime");
  }

  @Test
  void execSyncThatOutlivesItsTimeoutIsDeadlineExceeded() {
    PodSandboxConfig config = protos.pod("exec-timeout-" + CriProtos.suffix()).build();
    String pod = runPod(config);
    String id = createAndStart(pod, config, container("target", "sleep", "3600"));
    assertThat(CriClient.codeOf(() -> exec(id, 1, "sleep", "30")))
        .isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    // The container is unharmed and the next exec works.
    assertThat(exec(id, 30, "echo", "still-here").getStdout().toStringUtf8())
        .isEqualTo("still-here\n");
  }

  @Test
  void aPodSharingItsPidNamespaceKeepsItWithoutItsFirstContainerAndATargetJoinsAContainers()
      throws IOException {
    NamespaceOption shared = NamespaceOption.newBuilder().setPid(NamespaceMode.POD).build();
    PodSandboxConfig config =
        protos
            .pod("share-pid-" + CriProtos.suffix())
            .setLinux(
                LinuxPodSandboxConfig.newBuilder()
                    .setSecurityContext(
                        LinuxSandboxSecurityContext.newBuilder().setNamespaceOptions(shared)))
            .build();
    String pod = runPod(config);
    String first =
        createAndStart(pod, config, withNamespaces(container("first", "sleep", "3601"), shared));
    String second =
        createAndStart(pod, config, withNamespaces(container("second", "sleep", "3602"), shared));

    // PID 1 is the pod's holder, as the kubelet's pause is, and each container sees the other.
    assertThat(exec(first, 10, "cat", "/proc/1/cmdline").getStdout().toStringUtf8())
        .contains("catatonit");
    assertThat(exec(first, 10, "ps", "-o", "args").getStdout().toStringUtf8())
        .contains("sleep 3602");
    long holder = holderOf(RestartIT.pid(cri, second));

    // The namespace outlives the container that was started first.
    cri.runtime()
        .stopContainer(
            StopContainerRequest.newBuilder().setContainerId(first).setTimeout(0).build());
    assertThat(exec(second, 10, "echo", "alive").getStdout().toStringUtf8()).isEqualTo("alive\n");

    // pid mode TARGET: the debug-container way into one container's processes.
    NamespaceOption target =
        NamespaceOption.newBuilder().setPid(NamespaceMode.TARGET).setTargetId(second).build();
    String debug =
        createAndStart(pod, config, withNamespaces(container("debug", "sleep", "3603"), target));
    assertThat(exec(debug, 10, "ps", "-o", "args").getStdout().toStringUtf8())
        .contains("sleep 3602");
    NamespaceOption stranger =
        NamespaceOption.newBuilder()
            .setPid(NamespaceMode.TARGET)
            .setTargetId("no-such-container")
            .build();
    assertThat(
            CriClient.codeOf(
                () -> create(pod, config, withNamespaces(container("lost", "true"), stranger))))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);

    // StopPodSandbox ends the holder with everything left in the namespace.
    cri.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
    await("the PID namespace holder " + holder + " to end")
        .atMost(SLOW)
        .until(() -> ProcessHandle.of(holder).filter(ProcessHandle::isAlive).isEmpty());
  }

  /** The host pid of the catatonit that is PID 1 of the namespace of host process {@code pid}. */
  private static long holderOf(long pid) throws IOException {
    Object namespace = Files.readAttributes(Path.of("/proc/" + pid + "/ns/pid"), "unix:ino");
    try (var processes = Files.list(Path.of("/proc"))) {
      List<Long> holders =
          processes
              .filter(p -> p.getFileName().toString().matches("[0-9]+"))
              .filter(p -> commandLineOf(p).startsWith("/usr/bin/catatonit"))
              .filter(p -> namespace.equals(inodeOf(p.resolve("ns/pid"))))
              .map(p -> Long.parseLong(p.getFileName().toString()))
              .toList();
      assertThat(holders).as("catatonit in the namespace of %d", pid).hasSize(1);
      return holders.getFirst();
    }
  }

  private static String commandLineOf(Path proc) {
    try {
      return Files.readString(proc.resolve("cmdline")).replace('\0', ' ');
    } catch (IOException e) {
      return "";
    }
  }

  private static Object inodeOf(Path nsFile) {
    try {
      return Files.readAttributes(nsFile, "unix:ino");
    } catch (IOException e) {
      return -1L;
    }
  }

  private static ContainerConfig.Builder withNamespaces(
      ContainerConfig.Builder container, NamespaceOption namespaces) {
    container.getLinuxBuilder().getSecurityContextBuilder().setNamespaceOptions(namespaces);
    return container;
  }

  @Test
  void aContainerTheOomKillerEndsIsReportedOomKilled() {
    PodSandboxConfig config = protos.pod("oom-" + CriProtos.suffix()).build();
    String pod = runPod(config);
    // tail reads /dev/zero looking for a newline that never comes, keeping all it read.
    String id =
        createAndStart(
            pod,
            config,
            container("hog", "tail", "/dev/zero")
                .setLinux(
                    LinuxContainerConfig.newBuilder()
                        .setResources(
                            LinuxContainerResources.newBuilder()
                                .setMemoryLimitInBytes(32 * MIB)
                                .setMemorySwapLimitInBytes(32 * MIB))));
    await("the hog's exit")
        .atMost(SLOW)
        .until(() -> RestartIT.status(cri, id).getState() == ContainerState.CONTAINER_EXITED);
    assertThat(RestartIT.status(cri, id).getReason()).isEqualTo("OOMKilled");
    assertThat(RestartIT.status(cri, id).getExitCode()).isEqualTo(137);
  }

  @Test
  void stopContainerSendsSigtermThenSigkillAfterTheTimeout() {
    PodSandboxConfig config = protos.pod("stop-" + CriProtos.suffix()).build();
    String pod = runPod(config);
    String polite =
        createAndStart(
            pod,
            config,
            container("polite", "sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"));
    String stubborn =
        createAndStart(
            pod,
            config,
            container("stubborn", "sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"));
    // The traps are set once the shells run their loops.
    for (String id : List.of(polite, stubborn)) {
      await("shell of " + id + " looping")
          .atMost(SLOW)
          .until(() -> exec(id, 10, "sh", "-c", "ps | grep -c 'sleep 0.1'").getExitCode() == 0);
    }
    cri.runtime()
        .stopContainer(
            StopContainerRequest.newBuilder().setContainerId(polite).setTimeout(30).build());
    assertThat(RestartIT.status(cri, polite).getState()).isEqualTo(ContainerState.CONTAINER_EXITED);
    assertThat(RestartIT.status(cri, polite).getExitCode()).isZero();

    cri.runtime()
        .stopContainer(
            StopContainerRequest.newBuilder().setContainerId(stubborn).setTimeout(2).build());
    assertThat(RestartIT.status(cri, stubborn).getState())
        .isEqualTo(ContainerState.CONTAINER_EXITED);
    assertThat(RestartIT.status(cri, stubborn).getExitCode()).isEqualTo(137);
  }

  @Test
  void aHostPortOnLoopbackReachesThePod() throws Exception {
    int hostPort;
    try (ServerSocket probe = new ServerSocket(0)) {
      hostPort = probe.getLocalPort();
    }
    String marker = "host-port-" + CriProtos.suffix();
    PodSandboxConfig config =
        protos
            .pod("hostport-" + CriProtos.suffix())
            .addPortMappings(
                PortMapping.newBuilder()
                    .setProtocol(Protocol.TCP)
                    .setContainerPort(8080)
                    .setHostPort(hostPort)
                    .setHostIp("127.0.0.1"))
            .build();
    String pod = runPod(config);
    createAndStart(
        pod,
        config,
        container(
            "httpd",
            "sh",
            "-c",
            "mkdir -p /www && echo "
                + marker
                + " > /www/index.html && exec httpd -f -p 8080 -h /www"));
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    URI uri = URI.create("http://127.0.0.1:" + hostPort + "/");
    await(uri + " from the host")
        .atMost(SLOW)
        .ignoreExceptions()
        .untilAsserted(
            () ->
                assertThat(
                        http.send(
                                HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
                                HttpResponse.BodyHandlers.ofString())
                            .body())
                    .contains(marker));
  }

  private String runPod(PodSandboxConfig config) {
    String pod =
        cri.runtime()
            .runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build())
            .getPodSandboxId();
    pods.add(pod);
    return pod;
  }

  private static ContainerConfig.Builder container(String name, String... command) {
    return CriProtos.container(name, List.of(command));
  }

  private static String create(String pod, PodSandboxConfig podConfig, ContainerConfig.Builder c) {
    return cri.runtime()
        .createContainer(
            CreateContainerRequest.newBuilder()
                .setPodSandboxId(pod)
                .setConfig(c)
                .setSandboxConfig(podConfig)
                .build())
        .getContainerId();
  }

  private static String createAndStart(
      String pod, PodSandboxConfig podConfig, ContainerConfig.Builder c) {
    String id = create(pod, podConfig, c);
    cri.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
    return id;
  }

  private static ExecSyncResponse exec(String id, long timeoutSeconds, String... cmd) {
    return cri.runtime()
        .execSync(
            ExecSyncRequest.newBuilder()
                .setContainerId(id)
                .addAllCmd(List.of(cmd))
                .setTimeout(timeoutSeconds)
                .build());
  }

  private static List<String> listPods(PodSandboxFilter.Builder filter) {
    return cri
        .runtime()
        .listPodSandbox(ListPodSandboxRequest.newBuilder().setFilter(filter).build())
        .getItemsList()
        .stream()
        .map(runtime.v1.PodSandbox::getId)
        .toList();
  }

  private static List<String> listContainers(ContainerFilter.Builder filter) {
    return cri
        .runtime()
        .listContainers(ListContainersRequest.newBuilder().setFilter(filter).build())
        .getContainersList()
        .stream()
        .map(runtime.v1.Container::getId)
        .toList();
  }

  /**
   * The memory limit of a process's cgroup, read on the host: {@code memory.limit_in_bytes} of the
   * v1 memory hierarchy, or {@code memory.max} where memory is a cgroup2 controller.
   */
  private static long memoryLimitOf(long pid) throws IOException {
    List<String> lines = Files.readAllLines(Path.of("/proc", Long.toString(pid), "cgroup"));
    Optional<String> v1 =
        lines.stream()
            .map(line -> line.split(":", 3))
            .filter(f -> List.of(f[1].split(",")).contains("memory"))
            .map(f -> f[2])
            .findFirst();
    if (v1.isPresent()) {
      return Long.parseLong(
          Files.readString(Path.of("/sys/fs/cgroup/memory" + v1.get(), "memory.limit_in_bytes"))
              .trim());
    }
    String v2 =
        lines.stream()
            .filter(line -> line.startsWith("0::"))
            .map(line -> line.substring(3))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no memory cgroup in " + lines));
    return Long.parseLong(Files.readString(Path.of("/sys/fs/cgroup" + v2, "memory.max")).trim());
  }

  private static String lastLine(Path file) throws IOException {
    List<String> lines = Files.readAllLines(file);
    return lines.getLast();
  }
}
