package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * System containers end to end through crictl: the Debian systemd example image (scripts/
 * test-images.sh builds it from examples/debian-systemd) booted as a {@code system} pod — systemd
 * as PID 1, journald, nginx answering on the pod IP, a clean poweroff on {@code crictl stop} — and
 * ten such pods sharing one copy of the image on disk.
 */
class SystemContainerIT {
  private static final String IMAGE = SystemPodConfigs.IMAGE;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration SLOW = Duration.ofSeconds(60);

  /** CapEff bits that must be off in a non-privileged system container. */
  private static final int CAP_SYS_MODULE = 16;

  private static final int CAP_SYS_ADMIN = 21;

  @RegisterExtension static final SpawnletDaemon DAEMON = SpawnletDaemon.create();

  private static Crictl crictl;
  private static SystemPodConfigs configs;

  @BeforeAll
  static void importImage() {
    crictl = DAEMON.crictl();
    configs = new SystemPodConfigs(DAEMON);
    DAEMON.importTestImage("debian-systemd", IMAGE);
  }

  @Test
  void bootsToRunningServesAndPowersOffCleanly() throws Exception {
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    Path podConfig = podConfig("deb-" + suffix, true);
    String pod = crictl.runTrimmed("runp", podConfig.toString());
    try {
      bootAndCheck(pod, podConfig, suffix);
    } finally {
      crictl.tryRun("rmp", "-f", pod);
    }
  }

  private void bootAndCheck(String pod, Path podConfig, String suffix) throws Exception {
    String os =
        crictl.runTrimmed("create", pod, configs.container().toString(), podConfig.toString());
    // StartContainer returns once systemd said READY=1.
    crictl.run("start", os);

    JsonNode status = crictl.json("inspect", os);
    assertThat(status.at("/status/state").asText()).isEqualTo("CONTAINER_RUNNING");
    assertThat(status.at("/info/ready").asBoolean()).as("verbose info 'ready'").isTrue();
    assertThat(status.at("/info/runtimeHandler").asText()).isEqualTo("system");
    assertThat(crictl.json("inspectp", pod).at("/status/runtimeHandler").asText())
        .isEqualTo("system");

    String state = exec(os, "systemctl is-system-running || true").strip();
    assertThat(state)
        .as("failed units: %s", exec(os, "systemctl --failed --no-legend --plain || true"))
        .isEqualTo("running");
    assertThat(exec(os, "cat /proc/1/comm").strip()).isEqualTo("systemd");
    assertThat(exec(os, "systemctl is-active systemd-journald nginx ssh").lines())
        .containsOnly("active");
    // systemd knows container=spawnlet as "some container" (it names only the ones it ships for).
    assertThat(exec(os, "systemd-detect-virt --container || true")).isEqualTo("container-other");
    assertThat(exec(os, "tr '\\0' '\\n' < /proc/1/environ")).contains("container=spawnlet");
    assertThat(exec(os, "cat /etc/machine-id").strip()).matches("[0-9a-f]{32}");
    assertThat(exec(os, "hostname").strip()).isEqualTo("deb-" + suffix);

    // Isolation without privileges: a process tree of its own, no module loading, no mounting.
    List<String> pids = exec(os, "ls /proc | grep -E '^[0-9]+$'").lines().toList();
    assertThat(pids).as("pids visible inside").hasSizeLessThan(40);
    assertThat(pids).doesNotContain(Long.toString(DAEMON.pid().orElseThrow()));
    long capEff = Long.parseLong(exec(os, "grep CapEff /proc/self/status | cut -f2").strip(), 16);
    assertThat(capEff & (1L << CAP_SYS_MODULE)).as("CAP_SYS_MODULE").isZero();
    assertThat(capEff & (1L << CAP_SYS_ADMIN)).as("CAP_SYS_ADMIN").isZero();
    assertThat(exec(os, "mkdir -p /tmp/m && mount -t ext4 /dev/vda /tmp/m 2>&1; echo rc=$?"))
        .doesNotContain("rc=0");
    // The cgroup tree systemd sees is its own subtree, and it could write there.
    assertThat(exec(os, "cat /proc/1/cgroup")).contains("/init.scope");

    // The host reaches nginx on the pod IP.
    String ip = crictl.json("inspectp", pod).at("/status/network/ip").asText();
    PodHttp.awaitBody(
        "http://" + ip + "/", SLOW, body -> assertThat(body).contains("hello from deb-" + suffix));

    // The console (boot log) is the container's CRI log.
    assertThat(crictl.run("logs", os)).contains("Multi-User System");

    // crictl stop: SIGRTMIN+3, systemd powers off, exit 0 within the grace period.
    crictl.run("stop", "--timeout", "30", os);
    JsonNode stopped = crictl.json("inspect", os);
    assertThat(stopped.at("/status/state").asText()).isEqualTo("CONTAINER_EXITED");
    assertThat(stopped.at("/status/exitCode").asInt()).isZero();
    assertThat(crictl.run("logs", os)).contains("Exiting container");

    crictl.run("rm", os);
    crictl.run("stopp", pod);
    crictl.run("rmp", pod);
  }

  @Test
  void aBootThatNeverGetsReadyFailsStartWithTheBootLog() throws Exception {
    String suffix = UUID.randomUUID().toString().substring(0, 8);
    Path podConfig = podConfig("hang-" + suffix, true, "3s");
    String pod = crictl.runTrimmed("runp", podConfig.toString());
    try {
      ObjectNode config = JSON.createObjectNode();
      config.putObject("metadata").put("name", "os").put("attempt", 0);
      config.putObject("image").put("image", IMAGE);
      config.put("log_path", "os/0.log");
      config
          .putArray("command")
          .add("/bin/sh")
          .add("-c")
          .add("echo almost-booted-" + suffix + "; exec sleep 3600");
      Path containerConfig = configs.write("container-hang-" + suffix + ".json", config);
      String os =
          crictl.runTrimmed("create", pod, containerConfig.toString(), podConfig.toString());
      Crictl.Result start = crictl.tryRun("start", os);
      assertThat(start.succeeded()).isFalse();
      assertThat(start.grpcCode()).isEqualTo("DeadlineExceeded");
      assertThat(start.stderr())
          .contains("did not report READY=1 within 3s")
          .contains("almost-booted-" + suffix);
      await("the hung container killed")
          .atMost(SLOW)
          .untilAsserted(
              () ->
                  assertThat(crictl.json("inspect", os).at("/status/state").asText())
                      .isEqualTo("CONTAINER_EXITED"));
    } finally {
      crictl.tryRun("rmp", "-f", pod);
    }
  }

  @Test
  void tenPodsShareOneCopyOfTheImage() throws Exception {
    Path layers = DAEMON.root();
    long before = diskUsage(layers);
    List<String> pods = new ArrayList<>();
    List<String> containers = new ArrayList<>();
    Set<String> machineIds = new HashSet<>();
    try {
      bootTen(pods, containers, machineIds, before);
    } finally {
      // Containers outlive the daemon by design: never leave ten booted machines behind.
      pods.forEach(p -> crictl.tryRun("rmp", "-f", p));
    }
    assertThat(crictl.runTrimmed("pods", "-q")).isEmpty();
  }

  private void bootTen(
      List<String> pods, List<String> containers, Set<String> machineIds, long before)
      throws Exception {
    Path layers = DAEMON.root();
    for (int i = 0; i < 10; i++) {
      String suffix = UUID.randomUUID().toString().substring(0, 8);
      // Half through the runtime handler, half through the annotation.
      Path podConfig = podConfig("many-" + i + "-" + suffix, i % 2 == 0);
      String pod =
          i % 2 == 0
              ? crictl.runTrimmed("runp", podConfig.toString())
              : crictl.runTrimmed("runp", "--runtime", "system", podConfig.toString());
      pods.add(pod);
      String os =
          crictl.runTrimmed("create", pod, configs.container().toString(), podConfig.toString());
      containers.add(os);
      crictl.run("start", os);
      machineIds.add(exec(os, "cat /etc/machine-id").strip());
    }
    assertThat(machineIds).as("one machine id per pod").hasSize(10);
    for (String os : containers) {
      assertThat(exec(os, "systemctl is-system-running || true").strip()).isEqualTo("running");
    }
    // The image's files exist once: each overlay (its own st_dev) shows the inode number of the
    // one lower file, and ten booted machines add only their small upper dirs to the store.
    Set<String> inodes = new HashSet<>();
    for (String os : containers) {
      inodes.add(exec(os, "stat -L -c %i /usr/lib/x86_64-linux-gnu/libc.so.6"));
    }
    assertThat(inodes).as("inode of libc in each container").hasSize(1);
    // Each machine writes its own state (mostly its persistent journal, 8 MiB preallocated):
    // ten of them together must add less than one copy of the image (~215 MiB unpacked).
    long added = diskUsage(layers) - before;
    assertThat(added)
        .as("bytes added to %s by ten booted pods (upper dirs only)", layers)
        .isLessThan(150L * 1024 * 1024);

    for (String os : containers) {
      crictl.run("stop", "--timeout", "30", os);
      assertThat(crictl.json("inspect", os).at("/status/exitCode").asInt()).isZero();
    }
  }

  /** The script's stdout, without the blank lines crictl adds after stdout and stderr. */
  private static String exec(String container, String script) {
    return crictl.run("exec", "-s", container, "sh", "-c", script).strip();
  }

  /**
   * Bytes under {@code dir} on its own file system ({@code du -sxb}): the containers' overlay
   * mounts (merged views) are other file systems and are not counted, their upper dirs are. The
   * idmapped views of the layer store that user-namespaced containers have ({@code
   * storage/containers/<id>/lower}) are the same file system, so they are excluded by name.
   */
  private static long diskUsage(Path dir) throws Exception {
    List<String> command = new ArrayList<>(List.of("du", "-sxb"));
    Path containers = dir.resolve("storage/containers");
    if (Files.isDirectory(containers)) {
      try (var ids = Files.list(containers)) {
        ids.forEach(c -> command.add("--exclude=" + c.resolve("lower")));
      }
    }
    command.add(dir.toString());
    Process du = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(du.getInputStream().readAllBytes()).strip();
    assertThat(du.waitFor()).as("du: %s", out).isZero();
    return Long.parseLong(out.split("\\s+")[0]);
  }

  private static Path podConfig(String name, boolean annotated) throws IOException {
    return podConfig(name, annotated, "");
  }

  private static Path podConfig(String name, boolean annotated, String bootTimeout)
      throws IOException {
    Map<String, String> annotations = new java.util.HashMap<>();
    if (annotated) {
      annotations.put("spawnlet.io/system", "true");
    }
    if (!bootTimeout.isEmpty()) {
      annotations.put("spawnlet.io/boot-timeout", bootTimeout);
    }
    return configs.pod(name, annotations, java.util.Optional.empty());
  }
}
