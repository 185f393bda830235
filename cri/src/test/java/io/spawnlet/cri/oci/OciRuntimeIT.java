package io.spawnlet.cri.oci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.spawnlet.cri.CriException;
import io.spawnlet.cri.host.CgroupHierarchies;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import runtime.v1.ContainerConfig;
import runtime.v1.ContainerMetadata;
import runtime.v1.KeyValue;
import runtime.v1.LinuxContainerConfig;
import runtime.v1.LinuxContainerSecurityContext;
import runtime.v1.PodSandboxConfig;
import runtime.v1.PodSandboxMetadata;
import runtime.v1.SecurityProfile;

/**
 * Real conmon + crun/runc on this host (root): a busybox container in pinned namespaces, its whole
 * life, and its survival when every Java object that made it is gone.
 */
@EnabledIf("isRoot")
class OciRuntimeIT {
  private final String suffix = UUID.randomUUID().toString().substring(0, 8);
  private final String cgroupParent = "/spawnlet-it-" + suffix;
  private final List<Runnable> cleanups = new ArrayList<>();
  private final CgroupHierarchies layout = CgroupHierarchies.detect();
  private Path dir;
  private Path rootfs;
  private SandboxContext sandbox;

  static boolean isRoot() {
    return "root".equals(System.getProperty("user.name"));
  }

  @BeforeEach
  void setUp() throws Exception {
    dir = Files.createTempDirectory("spawnlet-oci-it-");
    rootfs = dir.resolve("rootfs");
    Path bin = Files.createDirectories(rootfs.resolve("bin"));
    Files.copy(Path.of("/bin/busybox"), bin.resolve("busybox"));
    // busybox --install -s would link to its absolute host path: link by name instead.
    String list = run(List.of("/bin/busybox", "--list"));
    for (String applet : list.split("\n")) {
      if (!applet.isBlank() && !applet.equals("busybox")) {
        Files.createSymbolicLink(bin.resolve(applet.strip()), Path.of("busybox"));
      }
    }
    Files.createDirectories(rootfs.resolve("etc"));
    Files.writeString(rootfs.resolve("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    Files.writeString(rootfs.resolve("etc/group"), "root:x:0:\n");
    for (String d : List.of("proc", "sys", "dev", "tmp")) {
      Files.createDirectories(rootfs.resolve(d));
    }
    Path ns = Files.createDirectories(dir.resolve("ns"));
    for (String n : List.of("net", "ipc", "uts")) {
      Files.createFile(ns.resolve(n));
    }
    run(
        List.of(
            "unshare",
            "--net=" + ns.resolve("net"),
            "--ipc=" + ns.resolve("ipc"),
            "--uts=" + ns.resolve("uts"),
            "true"));
    cleanups.add(
        () -> {
          for (String n : List.of("net", "ipc", "uts")) {
            run(List.of("umount", ns.resolve(n).toString()));
          }
        });
    Path hosts = dir.resolve("hosts");
    Files.writeString(hosts, "127.0.0.1 localhost\n");
    sandbox =
        new SandboxContext(
            "sandbox-" + suffix,
            Optional.of(ns.resolve("net")),
            Optional.of(ns.resolve("ipc")),
            Optional.of(ns.resolve("uts")),
            Optional.empty(),
            cgroupParent,
            "pod-" + suffix,
            Optional.empty(),
            Optional.of(hosts),
            Optional.empty(),
            Optional.empty(),
            rootfs,
            dir.resolve("logs"));
  }

  @AfterEach
  void tearDown() throws IOException {
    for (Runnable cleanup : cleanups.reversed()) {
      try {
        cleanup.run();
      } catch (RuntimeException e) {
        System.err.println("cleanup failed: " + e);
      }
    }
    for (Path mount : layout.roots()) {
      Path top = mount.resolve(cgroupParent.substring(1));
      if (Files.isDirectory(top)) {
        try (Stream<Path> tree = Files.walk(top)) {
          tree.filter(Files::isDirectory)
              .sorted(Comparator.reverseOrder())
              .forEach(p -> p.toFile().delete());
        }
      }
    }
    try (Stream<Path> tree = Files.walk(dir)) {
      tree.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private OciRuntime runtime(String handler) {
    Path runtimeRoot = dir.resolve("runtime");
    RuntimeHandler h =
        handler.equals("runc")
            ? RuntimeHandler.runc(runtimeRoot)
            : RuntimeHandler.crun(runtimeRoot);
    return OciRuntime.open(h, layout, dir.resolve("run").resolve(handler));
  }

  private String createAndStart(OciRuntime runtime, String name, String script) {
    String id = create(runtime, name, List.of("/bin/sh", "-c", script));
    runtime.start(id);
    int pid = runtime.state(id).orElseThrow().pid();
    assertThat(runtime.state(id)).contains(new ContainerState(ContainerState.Status.RUNNING, pid));
    return id;
  }

  private String create(OciRuntime runtime, String name, List<String> command) {
    String id = name + "-" + suffix;
    ContainerConfig config =
        ContainerConfig.newBuilder()
            .setMetadata(ContainerMetadata.newBuilder().setName(name))
            .addAllCommand(command)
            .addEnvs(
                KeyValue.newBuilder().setKey("GREETING").setValue(ByteString.copyFromUtf8("hi")))
            .setLinux(
                LinuxContainerConfig.newBuilder()
                    .setSecurityContext(
                        LinuxContainerSecurityContext.newBuilder()
                            .setSeccomp(
                                SecurityProfile.newBuilder()
                                    .setProfileType(SecurityProfile.ProfileType.RuntimeDefault))))
            .build();
    PodSandboxConfig pod =
        PodSandboxConfig.newBuilder()
            .setMetadata(
                PodSandboxMetadata.newBuilder().setName("pod").setNamespace("it").setUid(suffix))
            .build();
    Path bundle = dir.resolve("bundles").resolve(id);
    OciSpecBuilder.write(
        new OciSpecBuilder(HostLimits.ofThisProcess())
            .build(id, config, pod, ImageDefaults.none(), sandbox),
        bundle);
    cleanups.add(() -> runtime.delete(id, true, cgroupParent));
    int pid =
        runtime.create(
            CreateRequest.of(
                id, name, bundle, dir.resolve("logs/" + name + "/0.log"), cgroupParent));
    assertThat(pid).isPositive();
    assertThat(runtime.state(id)).contains(new ContainerState(ContainerState.Status.CREATED, pid));
    return id;
  }

  @ParameterizedTest
  @ValueSource(strings = {"crun", "runc"})
  void containerLifecycleThroughConmon(String handler) throws Exception {
    OciRuntime runtime = runtime(handler);
    Map<String, ExitMonitor.Exit> exits = new ConcurrentHashMap<>();
    ExitMonitor monitor = new ExitMonitor(runtime.exitDir(), e -> exits.put(e.containerId(), e));
    monitor.start();
    cleanups.add(monitor::close);

    String id =
        createAndStart(
            runtime, "main", "echo $GREETING; trap 'exit 7' TERM; while true; do sleep 0.1; done");
    int pid = runtime.state(id).orElseThrow().pid();
    assertThat(Path.of("/proc/" + pid)).exists();
    // conmon sits in its own cgroup under the pod's parent, not in ours.
    int conmonPid = Conmon.monitorPid(dir.resolve("bundles").resolve(id)).orElseThrow();
    assertThat(Files.readString(Path.of("/proc/" + conmonPid + "/cgroup")))
        .contains(MonitorCgroup.path(cgroupParent, id));

    ExecResult hi = runtime.execSync(id, List.of("echo", "hi"), Duration.ofSeconds(30));
    assertThat(hi.exitCode()).isZero();
    assertThat(new String(hi.stdout(), StandardCharsets.UTF_8)).isEqualTo("hi\n");
    ExecResult three = runtime.execSync(id, List.of("sh", "-c", "exit 3"), Duration.ofSeconds(30));
    assertThat(three.exitCode()).isEqualTo(3);
    ExecResult hostname = runtime.execSync(id, List.of("hostname"), Duration.ofSeconds(30));
    assertThat(new String(hostname.stdout(), StandardCharsets.UTF_8)).isNotBlank();
    assertThatThrownBy(() -> runtime.execSync(id, List.of("sleep", "60"), Duration.ofMillis(300)))
        .isInstanceOfSatisfying(
            CriException.class,
            e -> {
              assertThat(e.kind()).isEqualTo(CriException.Kind.DEADLINE_EXCEEDED);
              assertThat(e.getMessage()).contains("timed out");
            });

    Path log = dir.resolve("logs/main/0.log");
    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () ->
                assertThat(Files.readAllLines(log))
                    .anyMatch(
                        line ->
                            line.matches(
                                "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d+.* stdout F hi")));

    runtime.kill(id, 15, false);
    await().atMost(Duration.ofSeconds(30)).until(() -> exits.containsKey(id));
    assertThat(exits.get(id).exitCode()).isEqualTo(7);
    assertThat(runtime.state(id).orElseThrow().status()).isEqualTo(ContainerState.Status.STOPPED);

    runtime.delete(id, false, cgroupParent);
    assertThat(runtime.state(id)).isEmpty();
    runtime.delete(id, false, cgroupParent); // idempotent
    assertThatThrownBy(() -> runtime.start(id))
        .isInstanceOfSatisfying(
            CriException.class, e -> assertThat(e.kind()).isEqualTo(CriException.Kind.NOT_FOUND));
  }

  @ParameterizedTest
  @ValueSource(strings = {"crun", "runc"})
  void containerOutlivesEveryJavaObjectThatMadeIt(String handler) throws Exception {
    String id = createAndStart(runtime(handler), "survivor", "while true; do sleep 1; done");
    int pid = runtime(handler).state(id).orElseThrow().pid();
    int conmonPid = Conmon.monitorPid(dir.resolve("bundles").resolve(id)).orElseThrow();
    // conmon is nobody's child of ours: a kill -9 of the daemon leaves it (and the container).
    String stat = Files.readString(Path.of("/proc/" + conmonPid + "/stat"));
    String ppid = stat.substring(stat.lastIndexOf(')') + 2).split(" ")[1];
    assertThat(Integer.parseInt(ppid)).isNotEqualTo(ProcessHandle.current().pid());

    System.gc();
    OciRuntime fresh = runtime(handler);
    assertThat(fresh.state(id)).contains(new ContainerState(ContainerState.Status.RUNNING, pid));
    fresh.kill(id, 9, true);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> fresh.state(id).orElseThrow().status() == ContainerState.Status.STOPPED);
  }

  @ParameterizedTest
  @ValueSource(strings = {"crun", "runc"})
  void createFailureCarriesTheRuntimesMessage(String handler) {
    OciRuntime runtime = runtime(handler);
    assertThatThrownBy(() -> create(runtime, "broken", List.of("/no/such/program")))
        .isInstanceOfSatisfying(
            CriException.class,
            e ->
                assertThat(e.getMessage())
                    .contains("failed to create")
                    .contains("/no/such/program"));
  }

  private static String run(List<String> argv) {
    try {
      Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (p.waitFor() != 0) {
        throw new IllegalStateException(argv + " failed: " + out);
      }
      return out;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
