package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

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
