package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The daemon with {@code storageDriver: btrfs} and its root on a btrfs file system (a sparse loop
 * file in the daemon's temp tree): containers are snapshots of the image's layer subvolume that
 * share its extents, RemoveContainer and a restart after a crash delete snapshots, image removal
 * deletes layer subvolumes, and the Debian system image boots in its user namespace on an idmapped
 * snapshot.
 */
class BtrfsStorageDriverIT {
  private static final String BUSYBOX = "docker.io/library/busybox:btrfs";

  @RegisterExtension
  static final SpawnletDaemon DAEMON =
      SpawnletDaemon.create().with(BtrfsStorageDriverIT::btrfsRoot);

  private static Crictl crictl;
  private static CriConfigs configs;
  private static SystemPodConfigs systemConfigs;
  private final List<String> pods = new ArrayList<>();

  /** Mounts a fresh btrfs at the daemon's root and selects the btrfs driver. */
  private static AutoCloseable btrfsRoot(SpawnletDaemon daemon) throws Exception {
    Path image = daemon.base().resolve("btrfs.img");
    run("truncate", "-s", "4G", image.toString());
    run("mkfs.btrfs", "-q", image.toString());
    run("mount", "-o", "loop", image.toString(), daemon.root().toString());
    Files.writeString(daemon.configFile(), "storageDriver: btrfs\n");
    return () -> run("umount", daemon.root().toString());
  }

  @BeforeAll
  static void importImages() {
    crictl = DAEMON.crictl();
    configs = new CriConfigs(DAEMON.base().resolve("configs"), DAEMON.podLogs());
    systemConfigs = new SystemPodConfigs(DAEMON);
    DAEMON.importTestImage("busybox", BUSYBOX);
  }

  @AfterEach
  void removePods() {
    pods.forEach(p -> crictl.tryRun("rmp", "-f", p));
  }

  @Test
  void containersAreSnapshotsSharingTheLayerSubvolumeAndGoAwayWithTheirContainer()
      throws Exception {
    assertThat(run("stat", "-f", "-c", "%T", DAEMON.root().toString()).strip()).isEqualTo("btrfs");
    Path podConfig = configs.pod("bt-" + suffix());
    String pod = crictl.runTrimmed("runp", podConfig.toString());
    pods.add(pod);
    List<String> ids = new ArrayList<>();
    for (String name : List.of("one", "two")) {
      String id =
          crictl.runTrimmed(
              "create",
              "--no-pull",
              pod,
              configs
                  .container(
                      name, BUSYBOX, List.of("sh", "-c", "echo " + name + " > /mine; sleep 600"))
                  .toString(),
              podConfig.toString());
      crictl.run("start", id);
      ids.add(id);
    }
    Path one = snapshot(ids.get(0));
    Path two = snapshot(ids.get(1));
    assertThat(crictl.run("exec", "-s", ids.get(0), "cat", "/mine").strip()).isEqualTo("one");
    assertThat(Files.readString(one.resolve("mine"))).isEqualTo("one\n");
    assertThat(Files.readString(two.resolve("mine"))).isEqualTo("two\n");
    assertThat(run("btrfs", "subvolume", "show", one.toString())).contains("Parent UUID");

    // both snapshots and the layer subvolume hold one copy of busybox: the same extents
    Path layer = layerSubvolumeWith("bin/busybox");
    List<String> extents = extents(layer.resolve("bin/busybox"));
    assertThat(extents).isNotEmpty();
    assertThat(extents(one.resolve("bin/busybox"))).isEqualTo(extents);
    assertThat(extents(two.resolve("bin/busybox"))).isEqualTo(extents);
    assertThat(crictl.json("imagefsinfo").toString()).contains("usedBytes");

    // RemoveContainer deletes the snapshot
    crictl.run("rm", "-f", ids.get(0));
    assertThat(one.getParent()).doesNotExist();
    assertThat(run("btrfs", "subvolume", "list", DAEMON.root().toString()))
        .doesNotContain(ids.get(0))
        .contains(ids.get(1));

    // a snapshot no container record owns (a crash between snapshot and record) goes at start
    DAEMON.stop();
    Path stray = DAEMON.root().resolve("storage/btrfs/containers/stray" + suffix());
    Files.createDirectories(stray);
    run("btrfs", "subvolume", "snapshot", layer.toString(), stray.resolve("rootfs").toString());
    DAEMON.start();
    assertThat(stray).doesNotExist();
    assertThat(two).isDirectory();

    // the image's removal deletes its layer subvolumes once no container uses it
    crictl.run("rmp", "-f", pod);
    pods.remove(pod);
    crictl.run("rmi", BUSYBOX);
    assertThat(layer).doesNotExist();
    DAEMON.importTestImage("busybox", BUSYBOX); // for the other tests
  }

  @Test
  void debianSystemPodBootsInItsUserNamespaceOnAnIdmappedSnapshot() throws Exception {
    DAEMON.importTestImage("debian-systemd", SystemPodConfigs.IMAGE);
    String name = "bt-os-" + suffix();
    Path podConfig = systemConfigs.pod(name, Map.of(), Optional.empty());
    String pod = crictl.runTrimmed("runp", "--runtime", "system", podConfig.toString());
    pods.add(pod);
    String os =
        crictl.runTrimmed(
            "create", pod, systemConfigs.container().toString(), podConfig.toString());
    crictl.run("start", os); // returns once systemd said READY=1
    assertThat(crictl.json("inspect", os).at("/status/state").asText())
        .isEqualTo("CONTAINER_RUNNING");
    assertThat(exec(os, "cat /proc/1/comm")).isEqualTo("systemd");
    String[] uidMap = exec(os, "cat /proc/self/uid_map").split("\\s+");
    long mappedRoot = Long.parseLong(uidMap[1]);
    assertThat(mappedRoot).isPositive();
    assertThat(exec(os, "systemctl is-system-running --wait || true"))
        .as("failed units: %s", exec(os, "systemctl --failed --no-legend --plain || true"))
        .isIn("running", "degraded");

    // through the idmapped mount the container's files are its root's; on disk they are 0,
    // and the snapshot shares the layer subvolume's bash
    exec(os, "echo hi > /root/written-inside");
    Path container = DAEMON.root().resolve("storage/btrfs/containers").resolve(os);
    Path merged = container.resolve("merged");
    Path snapshot = container.resolve("rootfs");
    assertThat(Files.getAttribute(merged.resolve("root/written-inside"), "unix:uid"))
        .isEqualTo((int) mappedRoot);
    assertThat(Files.getAttribute(snapshot.resolve("root/written-inside"), "unix:uid"))
        .isEqualTo(0);
    assertThat(Files.getAttribute(merged.resolve("usr/bin/bash"), "unix:uid"))
        .isEqualTo((int) mappedRoot);
    Path layer = layerSubvolumeWith("usr/bin/bash");
    assertThat(Files.getAttribute(layer.resolve("usr/bin/bash"), "unix:uid")).isEqualTo(0);
    assertThat(extents(snapshot.resolve("usr/bin/bash")))
        .isEqualTo(extents(layer.resolve("usr/bin/bash")));

    crictl.run("stop", "--timeout", "30", os);
    assertThat(crictl.json("inspect", os).at("/status/exitCode").asInt()).isZero();
    crictl.run("rm", os);
    assertThat(container).doesNotExist();
    assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(merged.toString());
  }

  private static Path snapshot(String containerId) {
    return DAEMON.root().resolve("storage/btrfs/containers").resolve(containerId).resolve("rootfs");
  }

  /** The top layer subvolume (most files) among those holding {@code relative}. */
  private static Path layerSubvolumeWith(String relative) throws Exception {
    try (Stream<Path> chains = Files.list(DAEMON.root().resolve("storage/btrfs/layers"))) {
      return chains
          .filter(c -> Files.exists(c.resolve(relative)))
          .findFirst()
          .orElseThrow(() -> new AssertionError(relative + " in no layer subvolume"));
    }
  }

  /** The physical offsets of a file's extents, from FIEMAP (filefrag -v). */
  private static List<String> extents(Path file) throws Exception {
    List<String> result = new ArrayList<>();
    for (String line : run("filefrag", "-v", file.toString()).split("\n")) {
      String[] cols = line.strip().split(":\\s*");
      if (cols.length >= 4 && cols[0].matches("\\d+")) {
        result.add(cols[2].strip());
      }
    }
    return result;
  }

  private static String exec(String container, String script) {
    return crictl.run("exec", "-s", container, "sh", "-c", script).strip();
  }

  private static String run(String... argv) throws Exception {
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IllegalStateException(String.join(" ", argv) + " failed: " + out);
    }
    return out;
  }

  private static String suffix() {
    return UUID.randomUUID().toString().substring(0, 8);
  }
}
