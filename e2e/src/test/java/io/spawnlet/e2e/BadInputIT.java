package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerStatsRequest;
import runtime.v1.ContainerStatusRequest;
import runtime.v1.CreateContainerRequest;
import runtime.v1.ExecSyncRequest;
import runtime.v1.ImageSpec;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxStatsRequest;
import runtime.v1.PodSandboxStatusRequest;
import runtime.v1.RemovePodSandboxRequest;
import runtime.v1.ReopenContainerLogRequest;
import runtime.v1.RunPodSandboxRequest;
import runtime.v1.StartContainerRequest;
import runtime.v1.StopContainerRequest;
import runtime.v1.StopPodSandboxRequest;
import runtime.v1.UpdateContainerResourcesRequest;

/**
 * Input a CRI client should never send, sent through crictl: the daemon answers with the right gRPC
 * code and touches nothing outside its own directories.
 */
class BadInputIT {
  private static final String IMAGE = "docker.io/library/busybox:latest";

  @RegisterExtension static final SpawnletDaemon DAEMON = SpawnletDaemon.create();

  private static Crictl crictl;
  private static CriConfigs configs;

  @BeforeAll
  static void importBusybox() {
    crictl = DAEMON.crictl();
    configs = new CriConfigs(DAEMON.base().resolve("configs"), DAEMON.podLogs());
    DAEMON.importTestImage("busybox", IMAGE);
  }

  @Test
  void podMetadataThatWouldBeAPathIsInvalid() throws IOException {
    String escape = "spawnlet-escape-" + UUID.randomUUID().toString().substring(0, 8);
    String traversal = "../../../" + escape;
    List<Path> configsToReject =
        List.of(
            configs.pod(traversal),
            configs.pod("../../etc"),
            configs.pod("a/b"),
            configs.pod("..", "default", UUID.randomUUID().toString()),
            configs.pod("ok-name", traversal, UUID.randomUUID().toString()),
            configs.pod("ok-name", "default", traversal));
    for (Path config : configsToReject) {
      Crictl.Result result = crictl.tryRun("runp", config.toString());
      assertThat(result.succeeded()).as("%s", result).isFalse();
      assertThat(result.grpcCode()).as("%s", result).isEqualTo("InvalidArgument");
    }
    assertThat(crictl.runTrimmed("pods", "-q")).isEmpty();
    assertNothingNamedAboveTheDaemon(escape);
  }

  @Test
  void containerNameThatWouldBeAPathIsInvalid() throws IOException {
    String escape = "spawnlet-escape-" + UUID.randomUUID().toString().substring(0, 8);
    Path podConfig = configs.pod("names-" + UUID.randomUUID().toString().substring(0, 8));
    String pod = crictl.runTrimmed("runp", podConfig.toString());
    try {
      for (String name : List.of("../../../" + escape, "../../etc", "a/b", "..")) {
        Crictl.Result result =
            crictl.tryRun(
                "create",
                "--no-pull",
                pod,
                configs.container(name, IMAGE, List.of("true")).toString(),
                podConfig.toString());
        assertThat(result.succeeded()).as("%s", result).isFalse();
        assertThat(result.grpcCode()).as("%s", result).isEqualTo("InvalidArgument");
      }
      assertThat(crictl.runTrimmed("ps", "-a", "-q")).isEmpty();
    } finally {
      crictl.run("stopp", pod);
      crictl.run("rmp", pod);
    }
    assertNothingNamedAboveTheDaemon(escape);
  }

  @Test
  void idsThatArePathsFindNothing() {
    for (String id : List.of("../../etc", "../../../../../../etc/passwd", "/etc", "..")) {
      for (List<String> command :
          List.of(
              List.of("inspectp", id),
              List.of("inspect", id),
              List.of("logs", id),
              List.of("exec", "-s", id, "true"))) {
        Crictl.Result result = crictl.tryRun(command.toArray(String[]::new));
        assertThat(result.succeeded()).as("%s", result).isFalse();
        assertThat(result.grpcCode()).as("%s", result).isIn("NotFound", "InvalidArgument");
      }
    }
    assertThat(Path.of("/etc/passwd")).isRegularFile();
  }

  @Test
  void unknownIdsAreNotFound() {
    String unknown = "deadbeef";
    for (List<String> command :
        List.of(
            List.of("inspect", unknown),
            List.of("inspectp", unknown),
            List.of("logs", unknown),
            List.of("exec", "-s", unknown, "true"),
            List.of("start", unknown))) {
      Crictl.Result result = crictl.tryRun(command.toArray(String[]::new));
      assertThat(result.succeeded()).as("%s", result).isFalse();
      assertThat(result.grpcCode()).as("%s", result).isEqualTo("NotFound");
    }
  }

  @Test
  void aPodNameTakenTwiceIsAlreadyExists() {
    String name = "twice-" + UUID.randomUUID().toString().substring(0, 8);
    String uid = UUID.randomUUID().toString();
    Path first = configs.pod(name, "default", uid);
    Path second = configs.pod(name, "default", uid);
    String pod = crictl.runTrimmed("runp", first.toString());
    try {
      Crictl.Result again = crictl.tryRun("runp", second.toString());
      assertThat(again.succeeded()).as("%s", again).isFalse();
      assertThat(again.grpcCode()).as("%s", again).isEqualTo("AlreadyExists");

      Path container = configs.container("only-once", IMAGE, List.of("sleep", "3600"));
      String id =
          crictl.runTrimmed("create", "--no-pull", pod, container.toString(), first.toString());
      Crictl.Result duplicate =
          crictl.tryRun("create", "--no-pull", pod, container.toString(), first.toString());
      assertThat(duplicate.succeeded()).as("%s", duplicate).isFalse();
      assertThat(duplicate.grpcCode()).as("%s", duplicate).isEqualTo("AlreadyExists");
      crictl.run("rm", id);
      assertThat(crictl.runTrimmed("pods", "-q")).isEqualTo(pod);
    } finally {
      crictl.run("stopp", pod);
      crictl.run("rmp", pod);
    }
  }

  @Test
  void pathTraversalInLogLocationsIsInvalidAndCreatesNothing() throws IOException {
    try (CriClient cri = DAEMON.newClient()) {
      CriProtos protos = new CriProtos(DAEMON.podLogs());
      for (String logDirectory :
          List.of("../../etc", DAEMON.podLogs() + "/../../../etc", "relative/logs")) {
        PodSandboxConfig config =
            protos.pod("logdir-" + CriProtos.suffix()).setLogDirectory(logDirectory).build();
        assertRefusedLeavingNothing(
            Status.Code.INVALID_ARGUMENT,
            () ->
                cri.runtime()
                    .runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build()));
      }
      PodSandboxConfig config = protos.pod("logpath-" + CriProtos.suffix()).build();
      String pod =
          cri.runtime()
              .runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build())
              .getPodSandboxId();
      try {
        for (String logPath : List.of("../../etc/evil.log", "/etc/evil.log", "a/../../b.log")) {
          assertRefusedLeavingNothing(
              Status.Code.INVALID_ARGUMENT,
              () ->
                  cri.runtime()
                      .createContainer(
                          CreateContainerRequest.newBuilder()
                              .setPodSandboxId(pod)
                              .setConfig(
                                  CriProtos.container("logged", List.of("true"))
                                      .setLogPath(logPath))
                              .setSandboxConfig(config)
                              .build()));
        }
        assertThat(Path.of("/etc/evil.log")).doesNotExist();
      } finally {
        removePod(cri, pod);
      }
    }
  }

  @Test
  void requestsMissingRequiredFieldsAreInvalidAndCreateNothing() throws IOException {
    try (CriClient cri = DAEMON.newClient()) {
      CriProtos protos = new CriProtos(DAEMON.podLogs());
      assertRefusedLeavingNothing(
          Status.Code.INVALID_ARGUMENT,
          () -> cri.runtime().runPodSandbox(RunPodSandboxRequest.getDefaultInstance()));
      assertRefusedLeavingNothing(
          Status.Code.INVALID_ARGUMENT,
          () ->
              cri.runtime()
                  .runPodSandbox(
                      RunPodSandboxRequest.newBuilder()
                          .setConfig(protos.pod("no-metadata").clearMetadata())
                          .build()));
      PodSandboxConfig config = protos.pod("fields-" + CriProtos.suffix()).build();
      String pod =
          cri.runtime()
              .runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build())
              .getPodSandboxId();
      try {
        for (ContainerConfig.Builder broken :
            List.of(
                CriProtos.container("no-metadata", List.of("true")).clearMetadata(),
                CriProtos.container("no-image", List.of("true")).clearImage(),
                CriProtos.container("empty-image", List.of("true"))
                    .setImage(ImageSpec.newBuilder().setImage("")))) {
          assertRefusedLeavingNothing(
              Status.Code.INVALID_ARGUMENT,
              () ->
                  cri.runtime()
                      .createContainer(
                          CreateContainerRequest.newBuilder()
                              .setPodSandboxId(pod)
                              .setConfig(broken)
                              .setSandboxConfig(config)
                              .build()));
        }
        assertRefusedLeavingNothing(
            Status.Code.INVALID_ARGUMENT,
            () ->
                cri.runtime()
                    .createContainer(
                        CreateContainerRequest.newBuilder()
                            .setPodSandboxId(pod)
                            .setSandboxConfig(config)
                            .build()));
      } finally {
        removePod(cri, pod);
      }
    }
  }

  @Test
  void unknownIdsAreNotFoundThroughGrpc() throws IOException {
    String unknown = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    try (CriClient cri = DAEMON.newClient()) {
      CriProtos protos = new CriProtos(DAEMON.podLogs());
      var rt = cri.runtime();
      List<Runnable> calls =
          List.of(
              () ->
                  rt.containerStatus(
                      ContainerStatusRequest.newBuilder().setContainerId(unknown).build()),
              () ->
                  rt.podSandboxStatus(
                      PodSandboxStatusRequest.newBuilder().setPodSandboxId(unknown).build()),
              () ->
                  rt.startContainer(
                      StartContainerRequest.newBuilder().setContainerId(unknown).build()),
              () ->
                  rt.execSync(
                      ExecSyncRequest.newBuilder().setContainerId(unknown).addCmd("true").build()),
              () ->
                  rt.updateContainerResources(
                      UpdateContainerResourcesRequest.newBuilder().setContainerId(unknown).build()),
              () ->
                  rt.reopenContainerLog(
                      ReopenContainerLogRequest.newBuilder().setContainerId(unknown).build()),
              () ->
                  rt.containerStats(
                      ContainerStatsRequest.newBuilder().setContainerId(unknown).build()),
              () ->
                  rt.podSandboxStats(
                      PodSandboxStatsRequest.newBuilder().setPodSandboxId(unknown).build()),
              () ->
                  rt.createContainer(
                      CreateContainerRequest.newBuilder()
                          .setPodSandboxId(unknown)
                          .setConfig(CriProtos.container("orphan", List.of("true")))
                          .setSandboxConfig(protos.pod("orphan-" + CriProtos.suffix()))
                          .build()));
      for (Runnable call : calls) {
        assertRefusedLeavingNothing(Status.Code.NOT_FOUND, call);
      }
      // Stop is idempotent in the CRI (critest checks it, CRI-O answers the same): stopping what
      // is not there succeeds and creates nothing.
      rt.stopContainer(StopContainerRequest.newBuilder().setContainerId(unknown).build());
      rt.stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(unknown).build());
    }
  }

  /**
   * Asserts the call fails with {@code code} and that the daemon made nothing for it: no new entry
   * in its state or storage directories, no new mount.
   */
  private static void assertRefusedLeavingNothing(Status.Code code, Runnable call)
      throws IOException {
    List<Path> before = stateEntries();
    List<Path> mountsBefore = HostLeftovers.mountsUnder(DAEMON.base());
    assertThat(CriClient.codeOf(call)).isEqualTo(code);
    assertThat(stateEntries()).as("entries of the daemon's state").isEqualTo(before);
    assertThat(HostLeftovers.mountsUnder(DAEMON.base())).isEqualTo(mountsBefore);
  }

  /** Directories two levels under the daemon's root and run root (sandboxes/ID, containers/ID). */
  private static List<Path> stateEntries() throws IOException {
    List<Path> entries = new java.util.ArrayList<>();
    for (Path dir : List.of(DAEMON.root(), DAEMON.runRoot())) {
      try (Stream<Path> tree = Files.walk(dir, 2)) {
        tree.filter(Files::isDirectory)
            .filter(p -> !p.startsWith(DAEMON.root().resolve("storage").resolve("layers")))
            .sorted()
            .forEach(entries::add);
      }
    }
    return entries;
  }

  private static void removePod(CriClient cri, String pod) {
    cri.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
    cri.runtime()
        .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod).build());
  }

  /** A traversal that worked would have created {@code name} somewhere above the daemon's tree. */
  private static void assertNothingNamedAboveTheDaemon(String name) throws IOException {
    for (Path dir = DAEMON.base(); dir != null; dir = dir.getParent()) {
      assertThat(dir.resolve(name)).doesNotExist();
    }
    try (Stream<Path> tree = Files.walk(DAEMON.base())) {
      assertThat(tree.filter(p -> p.getFileName().toString().contains(name)).toList())
          .as("files named after a rejected name")
          .isEmpty();
    }
  }
}
