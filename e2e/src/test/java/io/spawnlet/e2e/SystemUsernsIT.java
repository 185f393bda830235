package io.spawnlet.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
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
 * User namespaces of system pods through crictl: the Debian systemd image booted as a {@code
 * system} pod runs with container root mapped to a per-pod host id range (65536 ids from 2^20 on),
 * sees the shared image layer idmapped (one copy on disk, still owned by 0), writes its own files
 * with its host ids, keeps its range across a daemon restart and frees it on removal. CRI user
 * namespace options are honoured (mode NODE, given mappings) and bad ones refused.
 */
class SystemUsernsIT {
  private static final String IMAGE = SystemPodConfigs.IMAGE;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long BASE = 1L << 20;
  private static final long SIZE = 65536;

  @RegisterExtension static final SpawnletDaemon DAEMON = SpawnletDaemon.create();

  private static Crictl crictl;
  private static SystemPodConfigs configs;
  private final List<String> pods = new ArrayList<>();

  @BeforeAll
  static void importImage() {
    crictl = DAEMON.crictl();
    configs = new SystemPodConfigs(DAEMON);
    DAEMON.importTestImage("debian-systemd", IMAGE);
  }

  @AfterEach
  void removePods() {
    // Containers outlive the daemon by design: never leave booted machines behind.
    pods.forEach(p -> crictl.tryRun("rmp", "-f", p));
  }

  /** A booted system pod: its sandbox and container ids. */
  private record Booted(String pod, String os, Path podConfig) {}

  private Booted boot(String name, ObjectNode linux) throws IOException {
    Path podConfig = podConfig(name, linux);
    String pod = crictl.runTrimmed("runp", "--runtime", "system", podConfig.toString());
    pods.add(pod);
    String os =
        crictl.runTrimmed("create", pod, configs.container().toString(), podConfig.toString());
    crictl.run("start", os); // returns once systemd said READY=1
    return new Booted(pod, os, podConfig);
  }

  @Test
  void systemPodBootsInItsOwnUserNamespaceOverOneIdmappedCopyOfTheImage() throws Exception {
    Booted a = boot("ns-a-" + suffix(), null);
    long rootA = mappedRoot(a.os());
    assertThat(rootA).isGreaterThanOrEqualTo(BASE);
    assertThat((rootA - BASE) % SIZE).as("aligned").isZero();
    assertThat(exec(a.os(), "cat /proc/self/gid_map").split("\\s+"))
        .containsExactly("0", Long.toString(rootA), "65536");
    assertThat(exec(a.os(), "systemctl is-system-running || true").strip())
        .as("failed units: %s", exec(a.os(), "systemctl --failed --no-legend --plain || true"))
        .isEqualTo("running");
    assertThat(exec(a.os(), "cat /proc/1/comm")).isEqualTo("systemd");
    // root inside, and its files are root's inside
    assertThat(exec(a.os(), "id -u; stat -c %u:%g /usr/bin/bash /")).isEqualTo("0\n0:0\n0:0");
    // the host's disks and modules stay out of reach
    assertThat(exec(a.os(), "mkdir -p /tmp/m && mount -t ext4 /dev/vda /tmp/m 2>&1; echo rc=$?"))
        .doesNotContain("rc=0");
    // a real attempt to load a module (the image has perl, not kmod; x86_64 syscall numbers):
    // finit_module on a file and init_module on a buffer both fail with EPERM (1)
    assertThat(
            exec(
                a.os(),
                "perl -e 'my $p = \"\"; open(my $f, \"<\", \"/etc/os-release\") or die;"
                    + " syscall(313, fileno($f), $p, 0); print $!+0, \" \";"
                    + " my $b = \"\\0\" x 4096; syscall(175, $b, length($b), $p); print $!+0'"))
        .as("errno of finit_module, init_module")
        .isEqualTo("1 1");

    // On the host: what the container writes carries its mapped ids, the layer is untouched.
    exec(a.os(), "echo hi > /root/written-inside && mkdir -p /srv/d && chown 1000:1000 /srv/d");
    Path upper = DAEMON.root().resolve("storage/containers").resolve(a.os()).resolve("upper");
    assertThat(owner(upper)).isEqualTo(rootA + ":" + rootA);
    assertThat(owner(upper.resolve("root/written-inside"))).isEqualTo(rootA + ":" + rootA);
    assertThat(owner(upper.resolve("srv/d"))).isEqualTo((rootA + 1000) + ":" + (rootA + 1000));
    Path bash = layerFile("usr/bin/bash");
    assertThat(owner(bash)).as("the layer on disk").isEqualTo("0:0");
    assertThat(exec(a.os(), "stat -L -c %i /usr/bin/bash"))
        .as("one copy: the container's bash is the layer's inode")
        .isEqualTo(Files.getAttribute(bash, "unix:ino").toString());

    // A second pod: a disjoint range, the same single copy of the image.
    Booted b = boot("ns-b-" + suffix(), null);
    long rootB = mappedRoot(b.os());
    assertThat(Math.abs(rootB - rootA))
        .as("ranges %d and %d overlap", rootA, rootB)
        .isGreaterThanOrEqualTo(SIZE);
    assertThat(exec(b.os(), "stat -L -c %i /usr/bin/bash"))
        .isEqualTo(Files.getAttribute(bash, "unix:ino").toString());

    // A restart keeps both pods and their ranges; a new pod gets neither.
    DAEMON.restart();
    assertThat(mappedRoot(a.os())).isEqualTo(rootA);
    Booted c = boot("ns-c-" + suffix(), null);
    long rootC = mappedRoot(c.os());
    assertThat(rootC).isNotIn(rootA, rootB);
    assertThat(Math.abs(rootC - rootA)).isGreaterThanOrEqualTo(SIZE);
    assertThat(Math.abs(rootC - rootB)).isGreaterThanOrEqualTo(SIZE);

    // Removal frees the range: it is the lowest free one, so the next pod gets it.
    long lowest = Math.min(rootA, Math.min(rootB, rootC));
    Booted owner = List.of(a, b, c).stream().filter(p -> rootOf(p) == lowest).findFirst().get();
    crictl.run("stop", "--timeout", "30", owner.os());
    assertThat(crictl.json("inspect", owner.os()).at("/status/exitCode").asInt()).isZero();
    crictl.run("rmp", "-f", owner.pod());
    assertThat(DAEMON.root().resolve("storage/containers").resolve(owner.os())).doesNotExist();
    Booted d = boot("ns-d-" + suffix(), null);
    assertThat(mappedRoot(d.os())).isEqualTo(lowest);
  }

  @Test
  void criUserNamespaceOptionsAreHonouredAndValidated() throws Exception {
    // mode NODE (2): the pod asks for the host's ids
    ObjectNode node = JSON.createObjectNode();
    node.putObject("security_context")
        .putObject("namespace_options")
        .putObject("userns_options")
        .put("mode", 2);
    Booted host = boot("ns-node-" + suffix(), node);
    assertThat(exec(host.os(), "cat /proc/self/uid_map").split("\\s+"))
        .containsExactly("0", "0", "4294967295");
    // pid mode POD (unset) in a system pod on the host's ids: still systemd as PID 1, no holder
    assertThat(exec(host.os(), "cat /proc/1/comm").strip()).isEqualTo("systemd");

    // mode POD (0) with the kubelet's own mappings, outside our allocator's range
    long given = 40L << 20;
    Booted chosen = boot("ns-given-" + suffix(), userns(given, 0));
    assertThat(mappedRoot(chosen.os())).isEqualTo(given);

    // bad mappings: INVALID_ARGUMENT naming the field, nothing left behind
    Path bad = podConfig("ns-bad-" + suffix(), userns(0, 0));
    Crictl.Result refused = crictl.tryRun("runp", "--runtime", "system", bad.toString());
    assertThat(refused.succeeded()).isFalse();
    assertThat(refused.grpcCode()).isEqualTo("InvalidArgument");
    assertThat(refused.stderr()).contains("userns_options.uids[0].host_id");
    Path overlapping = podConfig("ns-overlap-" + suffix(), userns(given + 100, 0));
    Crictl.Result clash = crictl.tryRun("runp", "--runtime", "system", overlapping.toString());
    assertThat(clash.grpcCode()).isEqualTo("InvalidArgument");
    assertThat(clash.stderr())
        .contains("overlap the user namespace of pod sandbox " + chosen.pod());
  }

  private static ObjectNode userns(long hostId, int mode) {
    ObjectNode linux = JSON.createObjectNode();
    ObjectNode u =
        linux
            .putObject("security_context")
            .putObject("namespace_options")
            .putObject("userns_options")
            .put("mode", mode);
    for (String key : List.of("uids", "gids")) {
      u.putArray(key).addObject().put("host_id", hostId).put("container_id", 0).put("length", SIZE);
    }
    return linux;
  }

  private long rootOf(Booted b) {
    return mappedRoot(b.os());
  }

  /** The host uid of the container's root, from its uid_map ({@code 0 <host> 65536}). */
  private static long mappedRoot(String os) {
    String[] line = exec(os, "cat /proc/self/uid_map").strip().split("\\s+");
    assertThat(line).as("uid_map").hasSize(3);
    assertThat(line[0]).isEqualTo("0");
    assertThat(line[2]).isEqualTo("65536");
    return Long.parseLong(line[1]);
  }

  private static Path layerFile(String relative) throws IOException {
    try (Stream<Path> layers = Files.list(DAEMON.root().resolve("storage/layers"))) {
      return layers
          .map(l -> l.resolve("diff").resolve(relative))
          .filter(Files::exists)
          .findFirst()
          .orElseThrow(() -> new AssertionError(relative + " in no layer"));
    }
  }

  private static String owner(Path p) throws IOException {
    return Files.getAttribute(p, "unix:uid") + ":" + Files.getAttribute(p, "unix:gid");
  }

  private static String exec(String container, String script) {
    return crictl.run("exec", "-s", container, "sh", "-c", script).strip();
  }

  private static String suffix() {
    return UUID.randomUUID().toString().substring(0, 8);
  }

  private static Path podConfig(String name, ObjectNode linux) throws IOException {
    return configs.pod(name, Map.of(), Optional.ofNullable(linux));
  }
}
